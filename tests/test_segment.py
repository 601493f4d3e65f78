"""Segmentation: every format to paragraphs with section context; long paragraphs to windows, nothing lost."""
from classifier.segment import Paragraph, split, windows

from conftest import ARTICLE_HTML, ARTICLE_MD, ARTICLE_TXT


def test_blank_line_text_joins_hard_wrapped_lines_and_keeps_heading_as_section():
    pars = split(ARTICLE_TXT)
    assert len(pars) == 2
    assert pars[0].text.startswith("Defence ministers") and "\n" not in pars[0].text
    assert pars[0].section == "Allies Haggle Over the Bill for Eastern Air Defence"


def test_one_paragraph_per_line_with_headings():
    text = ("Title Of The Piece\nFirst paragraph is a long sentence that goes on for quite a while about "
            "alliances and their costs, and it ends properly with a period that closes it.\nA Section Head\n"
            "Second paragraph also runs long enough to be a paragraph of its own, well past the wrap limit of a "
            "hard-wrapped text file, and ends with a full stop.")
    pars = split(text)
    assert [p.section for p in pars] == ["Title Of The Piece", "A Section Head"]
    assert len(pars) == 2


def test_markdown_drops_markup_and_link_targets():
    pars = split(ARTICLE_MD, "markdown")
    assert pars[0].section == "Talks in Geneva — Where things stand"  # title and section heading together
    assert "**" not in pars[0].text and "https://" not in pars[0].text and "Read more" in pars[0].text
    assert pars[1].text.startswith("A second paragraph")


def test_html_keeps_paragraphs_drops_scripts_and_navigation():
    pars = split(ARTICLE_HTML, "html")
    assert len(pars) == 2
    joined = " ".join(p.text for p in pars)
    assert "do not tag me" not in joined and "Home | World" not in joined and "Copyright" not in joined
    assert pars[0].section == "Coast guards clash at the shoal"


def test_windows_cover_the_whole_text_and_respect_the_limit():
    words = [f"w{i}" for i in range(1000)]
    wins = windows(" ".join(words), max_tokens=100, overlap=20)
    assert len(wins) > 1
    covered = {w for win in wins for w in win.split()}
    assert covered == set(words)
    assert all(len(win.split()) <= 100 for win in wins)


def test_encoder_windows_fit_the_real_tokenizer():
    from classifier.encoder import Encoder
    enc = Encoder()
    text = "The coalition debated the costs of deterrence in the Baltic. " * 120
    wins = enc.windows(text)
    assert len(wins) > 1
    assert all(len(enc._offsets(w)) <= enc.max_tokens for w in wins)
    assert wins[0][:40] == text[:40] and text.rstrip().endswith(wins[-1].rstrip()[-40:])


def test_short_unpunctuated_lines_alone_are_content_not_headings():
    assert split("Only a short line") == [Paragraph(0, "Only a short line", None)]
