"""Training data from saved conversations, as AutoGRAMS' finetuning scripts prepare it.

`get_training_messages` turns the model calls a supervisor answered (entries of
``memory_dict['model_turns']`` with ``supervisor_info``) into chat-format training examples,
`get_training_messages_dpo` into preference pairs; `model_simulation` runs a chatbot against a
userbot to produce such sessions. The trainers AutoGRAMS shipped beside them (OpenAI job
upload, Hugging Face LoRA/DPO) are not provided: the JSONL these functions give is what
those services and libraries take.
"""
