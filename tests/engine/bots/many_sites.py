"""More call sites than a dispatch tests one by one (the twin's resume entry and the GOTO
targets bisect them): every site resumes, and GOTO reaches labels on either side of the middle."""

from autograms import autograms_function
from autograms.functional import GOTO, reply


@autograms_function()
def chatbot():
    said = ""
    said = reply(f"s0 {said}", ADDRESS="a0")
    said = reply(f"s1 {said}")
    said = reply(f"s2 {said}", ADDRESS="a2")
    said = reply(f"s3 {said}")
    said = reply(f"s4 {said}", ADDRESS="a4")
    said = reply(f"s5 {said}")
    said = reply(f"s6 {said}", ADDRESS="a6")
    said = reply(f"s7 {said}")
    said = reply(f"s8 {said}", ADDRESS="a8")
    said = reply(f"s9 {said}")
    said = reply(f"s10 {said}", ADDRESS="a10")
    said = reply(f"s11 {said}")
    said = reply(f"s12 {said}", ADDRESS="a12")
    said = reply(f"s13 {said}")
    said = reply(f"s14 {said}", ADDRESS="a14")
    said = reply(f"s15 {said}")
    said = reply(f"s16 {said}", ADDRESS="a16")
    said = reply(f"s17 {said}")
    said = reply(f"s18 {said}", ADDRESS="a18")
    said = reply(f"s19 {said}")
    said = reply(f"s20 {said}", ADDRESS="a20")
    said = reply(f"s21 {said}")
    said = reply(f"s22 {said}", ADDRESS="a22")
    said = reply(f"s23 {said}")
    if said.startswith("a"):
        GOTO(said)
    return reply(f"end {said}")
