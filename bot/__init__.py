"""outage-bot: guides people through outages of the systems they depend on."""

__version__ = "0.1.0"
