"""`chatenv smoke-test`: prove the environment works by doing what it was set up for.

`local` loads a causal LM with transformers and generates (timed), `train` takes one optimizer
step on it, `api_stage` makes one OpenAI API completion; `runner` runs the stages the user asked
for and returns one `Report`. torch, transformers and openai are imported inside the functions
that need them.
"""

#: what the CLI and the library default to (the model a user's `gpt2` means, and the prompt
#: GPT-2's model card uses)
DEFAULT_MODEL = "gpt2"
DEFAULT_PROMPT = "Hello, I'm a language model,"
DEFAULT_MAX_NEW_TOKENS = 20
