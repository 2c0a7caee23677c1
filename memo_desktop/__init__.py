"""memo-desktop: a desktop voice-memo recorder with a real background job system."""

__version__ = "0.1.0"
