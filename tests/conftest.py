"""Settings shared by the whole suite.

Property tests draw the same examples on every run ("default" profile), so a run of the suite
passes or fails on the code alone, never on which examples chance picked. To look further for
counterexamples, draw new ones on each run: `pytest --hypothesis-profile=explore`.
"""

from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("default")
