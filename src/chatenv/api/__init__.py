"""Talking to the OpenAI API (or a compatible server): the calls chatenv makes, their typed
results, and what every way they can fail means for the user."""
