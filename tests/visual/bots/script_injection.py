"""A bot whose code holds markup: the visualiser must show it as text, never run it."""

from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def chatbot():
    reply("<script>window.__pwned = 1</script><img src=x onerror='window.__pwned = 2'>",
          ADDRESS="<b>bold</b> & \"quoted\"")
    if "</script>" in "<!-- -->":
        reply("a < b && c > d", ADDRESS="compare")
