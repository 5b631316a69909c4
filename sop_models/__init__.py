"""The SOP domain: typed, frozen models of an SOP document. Imports no infrastructure."""
