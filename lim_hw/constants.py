"""Physical constants in SI units (CODATA values via scipy.constants)."""

from scipy import constants as _c

q_C: float = _c.e                 #: elementary charge (C)
k_B_J_per_K: float = _c.k         #: Boltzmann constant (J/K)
h_Js: float = _c.h                #: Planck constant (J s)
m0_kg: float = _c.m_e             #: free-electron mass (kg)
T_DEFAULT_K: float = 300.0        #: default temperature (K)


def kT_J(T_K: float = T_DEFAULT_K) -> float:
    """Thermal energy k_B T in joules."""
    return k_B_J_per_K * T_K
