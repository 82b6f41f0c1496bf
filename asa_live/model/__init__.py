"""asa_live.model"""
