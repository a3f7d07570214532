"""The written-out constants are scipy's CODATA values (independent source: scipy.constants)."""

from scipy import constants

from lim_hw import constants as lim


def test_constants_equal_scipy_codata():
    assert lim.q_C == constants.e
    assert lim.k_B_J_per_K == constants.k
    assert lim.h_Js == constants.h
    assert lim.m0_kg == constants.m_e
    assert lim.kT_J(300.0) == constants.k * 300.0
