"""What both sides of the wire share: kiosk/, display/ and server/ all import it (see README.md).

Standard library only, and nothing from server outside this folder (tests/test_dependencies.py).
"""
