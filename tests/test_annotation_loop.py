"""The annotation loop out of the box: definitions annotators can see, feeds read as `tag` reads them,
and one command that retrains with the imported rows and says what they changed."""
import xml.etree.ElementTree as ET

from classifier import load_codebook
from classifier.annotate.roundtrip import label_studio_config
from classifier.codebook import Codebook, Theme

HIDING = {"Collapse", "Panel"}  # containers a user must open first


def _visible_headers(root: ET.Element) -> list[str]:
    """Header values on the page as it opens: not inside a Choice, a collapsed panel or a conditional View."""
    parents = {child: parent for parent in root.iter() for child in parent}
    out = []
    for header in root.iter("Header"):
        chain, node = [], header
        while node in parents:
            node = parents[node]
            chain.append(node)
        if not any(n.tag in HIDING or n.get("visibleWhen") for n in chain):
            out.append(header.get("value"))
    return out


def test_every_definition_is_in_a_visible_element_not_only_a_hint():
    codebook = load_codebook()
    root = ET.fromstring(label_studio_config(codebook, with_scores=True))
    shown = _visible_headers(root)
    for theme in codebook.themes:
        assert theme.description in shown, theme.id
        assert any(theme.name in value and theme.id in value for value in shown), theme.id


def test_definitions_with_markup_characters_stay_valid_escaped_xml():
    tricky = Codebook("q&a <test>", "1", False, (
        Theme("a", 'Costs & "burdens"', "Who pays <more> & who pays less; 'fair' shares."),
        Theme("b", "Other", "Anything > else."),
    ))
    text = label_studio_config(tricky)
    root = ET.fromstring(text)  # raises on bad escaping
    assert "Who pays <more> & who pays less; 'fair' shares." in _visible_headers(root)
    assert root.find(".//Choices").get("choice") == "single"
    assert "<more>" not in text  # escaped in the file, intact once parsed
