"""The ticket kiosk (issue #3): GPIO buttons and lamps, a hub client, ESC/POS tickets as images.

See kiosk/README.md for how it behaves and the decisions made where CONTRACT.md is silent.
"""
