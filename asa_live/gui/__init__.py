"""asa_live.gui"""
