"""Small QA inputs shared by the generation tests."""

from proxyx.config import GenTask

TASK = GenTask(max_tokens=8)
DOCS = ("Paris is the capital of France. It is known for the Louvre.",
        "Berlin is the capital of Germany. It has many museums.",
        "The Eiffel tower is in Paris.")
QUESTION = "What is the capital of Germany?"
#: timeout_s of a hosted model on the loopback llama.cpp servers (``test_litellm*.py``). An echoed call (teacher-forced
#: scores) costs llama-cpp-python's server a Python sort of the whole vocabulary (262k numpy scalars) per prompt
#: token: 1.4 s a token at load 6.7 on 2 cores, so a 44-token prompt took over the old 60 s; the retry then queues
#: behind the abandoned request (the server finishes it all the same) and times out too
ECHO_TIMEOUT_S = 900
