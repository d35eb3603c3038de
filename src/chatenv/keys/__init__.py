"""The OpenAI key: masking, where it comes from, and storing it in a .env file."""
