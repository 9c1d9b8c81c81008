"""Hypothesis profiles for the fuzz tests.

``ci`` (the default) keeps ``make test`` quick; ``HYPOTHESIS_PROFILE=long`` runs a bigger
search. Run with ``--hypothesis-show-statistics`` to see how many examples each test tried.
"""
import os

from hypothesis import HealthCheck, Phase, settings

# Examples here are whole parses and requests: no per-example deadline (a shared 2-core
# machine makes timings noisy), and the function-scoped app fixture is reset by the test.
_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                      HealthCheck.function_scoped_fixture,
                                                      HealthCheck.data_too_large],
               # The explain phase reruns a failure hundreds of times: minutes per xlsx failure.
               phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink])
settings.register_profile("ci", max_examples=60, **_COMMON)
settings.register_profile("long", max_examples=2000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
