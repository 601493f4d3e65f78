"""Segmentation: every format to paragraphs with section context; long paragraphs to windows, nothing lost."""
from helpers import ARTICLE_HTML, ARTICLE_MD, ARTICLE_TXT, DATA

from classifier.io.segment import Paragraph, split, windows


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
    from classifier.encoding.encoder import Encoder
    enc = Encoder()
    text = "The coalition debated the costs of deterrence in the Baltic. " * 120
    wins = enc.windows(text)
    assert len(wins) > 1
    assert all(len(spans) <= enc.max_tokens for spans in enc._offsets_many(wins))
    short = "A short paragraph about burden-sharing."
    assert enc.windows_many([text, short]) == [wins, [short]]
    assert wins[0][:40] == text[:40] and text.rstrip().endswith(wins[-1].rstrip()[-40:])


def test_short_unpunctuated_lines_alone_are_content_not_headings():
    assert split("Only a short line") == [Paragraph(0, "Only a short line", None)]


def test_news_page_keeps_the_article_and_drops_its_furniture():
    pars = split((DATA / "news_page.html").read_text(), "html")
    assert [p.text.split()[0] for p in pars] == ["Germany", "The", '"Nobody', "Critics"]
    assert {p.section for p in pars} == {"Allies split the bill for Baltic air defence"}
    joined = " ".join(p.text for p in pars)
    for chrome in ("cookies", "Accept", "Jane Doe", "Photo: Reuters", "Advertisement", "Share this", "Sign up",
                   "Read more", "All rights reserved", "Politics"):
        assert chrome not in joined


def test_teaser_articles_beside_the_main_one_are_dropped():
    body = " ".join(["The finance ministers agreed on a shared fund for the eastern flank."] * 6)
    page = (f"<body><article><h1>Fund agreed</h1><p>{body}</p><p>{body}</p></article>"
            "<article><p>Elsewhere: a short teaser about fishing quotas.</p></article></body>")
    pars = split(page, "html")
    assert len(pars) == 2 and all("teaser" not in p.text for p in pars)


def test_markup_signals_of_furniture_are_read_from_class_id_role_and_style():
    story = "<p>Ministers met in Vilnius to discuss the rotation of the allied brigade.</p>"
    chrome = ['<div class="shareButtons"><p>Share on X.</p></div>', '<div role="navigation"><p>Home.</p></div>',
              '<p aria-hidden="true">Hidden text.</p>', '<p style="display: none">Invisible text.</p>',
              '<div id="cookie-consent"><p>We use cookies.</p></div>',
              '<p>Kept <span class="ad-slot">Advertisement</span>sentence.</p>']
    pars = split("<body>" + story + "".join(chrome) + "</body>", "html")
    assert [p.text for p in pars] == ["Ministers met in Vilnius to discuss the rotation of the allied brigade.",
                                      "Kept sentence."]


def test_a_page_that_is_all_furniture_by_its_classes_is_still_read():
    page = ('<body><div class="comments"><p>Readers argued that the alliance should pay for the new base.</p></div>'
            '</body>')
    assert [p.text for p in split(page, "html")] == ["Readers argued that the alliance should pay for the new base."]


def test_a_small_article_element_does_not_hide_the_page_text():
    prose = "<p>" + " ".join(["The coalition debated how to share the costs of the maritime mission."] * 5) + "</p>"
    page = f"<body><div>{prose}{prose}</div><article><p>A one-line comment.</p></article></body>"
    assert len(split(page, "html")) == 3


def test_deeply_nested_unclosed_markup_keeps_every_paragraph():
    page = ("<div>" * 20000 + "".join(f"<p>Paragraph {i} on the naval patrols.</p>" for i in range(500))
            + "<span>x " * 20000)
    pars = split(page, "html")
    assert len(pars) == 501 and pars[499].text == "Paragraph 499 on the naval patrols."
