"""Physical constants in SI units (CODATA 2022, as in scipy.constants; e, k, h are exact in the SI).

Written out rather than imported from ``scipy.constants``, whose import (~0.08 s)
sat on the start-up path of every command; tests/test_constants.py checks the
values against scipy.constants.
"""

q_C: float = 1.602176634e-19      #: elementary charge (C), exact
k_B_J_per_K: float = 1.380649e-23  #: Boltzmann constant (J/K), exact
h_Js: float = 6.62607015e-34      #: Planck constant (J s), exact
m0_kg: float = 9.1093837139e-31   #: free-electron mass (kg), CODATA 2022
T_DEFAULT_K: float = 300.0        #: default temperature (K)


def kT_J(T_K: float = T_DEFAULT_K) -> float:
    """Thermal energy k_B T in joules."""
    return k_B_J_per_K * T_K
