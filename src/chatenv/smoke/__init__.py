"""`chatenv smoke-test`: prove the environment works by doing what it was set up for.

`local` loads a causal LM with transformers and generates (timed), `train` takes one optimizer
step on it, `api_stage` makes one OpenAI API completion; `runner` runs the stages the user asked
for and returns one `Report`. torch, transformers and openai are imported inside the functions
that need them.
"""
