"""asa_live.train"""
