"""Small QA inputs shared by the generation tests."""

from proxyx.genconfig import GenTask

TASK = GenTask(max_tokens=8)
DOCS = ("Paris is the capital of France. It is known for the Louvre.",
        "Berlin is the capital of Germany. It has many museums.",
        "The Eiffel tower is in Paris.")
QUESTION = "What is the capital of Germany?"
#: timeout_s of a hosted model on the loopback llama.cpp servers (``test_litellm*.py``). An echoed call (teacher-forced
#: scores) costs llama-cpp-python's server a Python sort of the whole vocabulary (262k tokens) per prompt token:
#: seconds a prompt on an idle machine, over a minute on a busy one, where 60 s failed these tests (the retry then
#: queues behind the abandoned request, which the server finishes all the same, and times out too)
ECHO_TIMEOUT_S = 900
