"""asa_live.pipeline"""
