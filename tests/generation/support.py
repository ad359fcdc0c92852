"""Small QA inputs shared by the generation tests."""

from proxyx.genconfig import GenTask

TASK = GenTask(max_tokens=8)
DOCS = ("Paris is the capital of France. It is known for the Louvre.",
        "Berlin is the capital of Germany. It has many museums.",
        "The Eiffel tower is in Paris.")
QUESTION = "What is the capital of Germany?"
