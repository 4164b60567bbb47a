"""Backend ``aps``: the APS REST bus of an Odin / CloudBlue Commerce platform (research §2c)."""
