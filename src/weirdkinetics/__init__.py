"""weirdkinetics: how much do video action-recognition models look at the background?"""

__version__ = "0.1.0"
