"""The embedded default: a controlled background-shortcut experiment that runs offline."""
