"""Property-based fuzzing (hypothesis) of the card reader and the netlist validator.

Property: any generated card text either is refused with one :class:`InputError`
or yields a netlist whose lines are only comments, element lines and the four
directives the generator writes (``.include .ic .options .tran``) -- no
``.control``, ``shell`` or other directive can be smuggled in. Each validator of
lim_hw/netlist/validate.py either refuses a string or returns one safe token.
Few examples per property, derandomized, no deadline: the module stays fast.
"""

from __future__ import annotations

import json
import math
import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lim_hw.device.card import SECTIONS, default_card, load_card
from lim_hw.errors import InputError
from lim_hw.netlist import validate
from lim_hw.netlist.generate import generate

FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
DIRECTIVES = {".include", ".ic", ".options", ".tran", ".param"}
# a .param line holds only name=number or name={arithmetic of names} (i15: decks declare the physics)
PARAM = re.compile(r"[a-z_][a-z0-9_]*=(?:[-+0-9.e]+|\{[a-z0-9_ +\-*/().]*\})$")
#: Strings a user (or an attacker) might put into a card.
NASTY = ["\n.control\nshell touch /tmp/x\n.endc", ".include /etc/passwd", "a;b", "{1+1}", "0\n+ .param x=1",
         "*", "v1 a 0 1", "x" * 300, "k\u00e4rte", "\u202e", "\x00", "inverse\n.end", "gear ", "batch"]
KEYS = {sec: list(vars(getattr(default_card(), sec)).keys()) for sec in SECTIONS}


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v)  # a TOML basic string (JSON escapes are valid TOML escapes)


values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-10, max_value=50),
    st.integers(min_value=10**20, max_value=10**400), st.booleans(), st.sampled_from(NASTY), st.text(max_size=20),
    st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=3),
    # small perturbations of the default card's own values: these often pass validation
    st.sampled_from([0.0, 1.0, 3, 5, 0.5, 1e-9, 1e-12, 12e-9, 1e-13, 8.0, 300.0, "rectangular", "ramped", "inverse",
                     "power", "gear", "trap", "batch", "fast", "table"]),
)
sections = st.dictionaries(
    st.sampled_from(list(SECTIONS) + ["bogus"]),
    st.dictionaries(st.one_of(st.sampled_from([k for ks in KEYS.values() for k in ks]), st.text(max_size=8)),
                    values, max_size=3),
    max_size=3)


def _card_text(data: dict) -> str:
    lines = []
    for sec, kv in data.items():
        lines.append(f"[{sec}]")
        for k, v in kv.items():
            if sec == "schedule" and k == "n_updates" and isinstance(v, int) and 0 <= v <= 50:
                v = min(v, 6)  # keep the synthesis of accepted cards short
            lines.append(f"{json.dumps(k)} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"


def _assert_safe_deck(deck: str) -> None:
    lines = deck.splitlines()
    for line in lines[1:]:  # line 1 is the title (ngspice never parses it)
        if not line.strip() or line.startswith("*") or line.startswith("+ "):
            continue
        if line.startswith("."):
            assert line.split()[0].lower() in DIRECTIVES, line
            if line.lower().startswith(".param"):
                rest = re.sub(r"\s*([=+\-*/])\s*", r"\1", line[len(".param"):].strip())
                rest = re.sub(r"\{[^}]*\}", lambda m: m.group(0).replace(" ", ""), rest)
                assert all(PARAM.match(t) for t in rest.lower().split()), line
        else:
            assert re.match(r"[virex][a-z0-9_]* ", line), line
    assert lines[0].startswith("* ") and "\r" not in lines[0]  # the title: one sanitised comment line


@FUZZ
@given(data=sections, stem=st.text(max_size=30))
@example(data={"schedule": {"n_updates": 2}}, stem="a\n.control\nshell touch x")  # accepted: the title path
@example(data={"programming": {"shape": "ramped", "rise_s": 1e-4}}, stem="k\u00e4rte;{x}")
def test_card_reader_refuses_or_renders_a_safe_netlist(tmp_path_factory, data, stem):
    text = _card_text(data)
    folder = tmp_path_factory.mktemp("card")
    name = re.sub(r"[/\x00]", "_", stem).strip() or "c"
    path = folder / f"{name[:40]}.toml"
    try:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    except (OSError, UnicodeEncodeError):
        return  # a name this file system refuses: nothing to read
    try:
        card = load_card(path)
        art = generate(card, "cell")
    except InputError:
        return
    _assert_safe_deck(art.deck())  # the title (the card's file name) cannot add a line either


@FUZZ
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_card_reader_on_arbitrary_text(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("raw") / "c.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        card = load_card(path)
    except InputError:
        return
    assert card.n_updates >= 0


tokens = st.one_of(st.text(max_size=40), st.sampled_from(NASTY), st.from_regex(r"[a-z][a-z0-9_]{0,40}", fullmatch=True))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(value=tokens)
def test_validators_refuse_or_return_one_safe_token(value):
    for fn, pattern in ((validate.spice_name, r"[a-z][a-z0-9_]{0,31}"), (validate.spice_node, r"0|[a-z][a-z0-9_]{0,31}"),
                        (lambda v: validate.spice_element_name(v, "v", "source"), r"v[a-z0-9_]{0,31}")):
        try:
            out = fn(value)
        except InputError:
            continue
        assert re.fullmatch(pattern, out) and out == value
    try:
        quoted = validate.spice_path(value)
    except InputError:
        pass
    else:
        assert re.fullmatch(r'"[A-Za-z0-9_./+-]+"', quoted)
    title = validate.spice_title(value)
    assert "\n" not in title and "\r" not in title and all(32 <= ord(c) < 127 for c in title) and len(title) <= 120


@settings(max_examples=100, deadline=None, derandomize=True)
@given(value=st.one_of(st.floats(), st.integers(min_value=-10**400, max_value=10**400), st.text(max_size=10),
                       st.booleans(), st.none()))
def test_number_validator_gives_a_plain_finite_number(value):
    try:
        out = validate.spice_number(value)
    except (InputError, OverflowError) as exc:
        assert isinstance(exc, InputError), f"{value!r}: {exc!r}"
        return
    assert re.fullmatch(r"-?\d+(\.\d+)?(e[-+]?\d+)?", out) and math.isfinite(float(out))
