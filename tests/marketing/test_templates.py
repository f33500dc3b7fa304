"""Templates render in a sandbox with strict undefined names."""

from __future__ import annotations

import pytest

from guanxi.marketing.errors import TemplateError
from guanxi.marketing.templates import render


def test_a_template_renders_chinese_text_with_the_contact_data() -> None:
    text = render(
        "{{ contact.name }}您好，您的订单{{ order_no }}已发货。",
        {"contact": {"name": "王芳"}, "order_no": "A1"},
    )
    assert text == "王芳您好，您的订单A1已发货。"


def test_output_is_not_html_escaped() -> None:
    assert render("{{ x }}", {"x": "<b>&</b>"}) == "<b>&</b>"


def test_an_undefined_name_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(TemplateError) as caught:
        render("亲爱的{{ nmae }}", {"name": "王芳"})
    assert caught.value.code == "template_undefined"
    assert caught.value.permanent


def test_a_missing_key_of_the_contact_is_an_error() -> None:
    with pytest.raises(TemplateError, match="undefined") as caught:
        render("{{ contact.email }}", {"contact": {"name": "王芳"}})
    assert caught.value.code == "template_undefined"


@pytest.mark.parametrize(
    "source",
    [
        "{{ contact.__class__.__mro__ }}",
        "{{ ''.__class__.__subclasses__() }}",
        "{{ lipsum.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
    ],
)
def test_reaching_for_private_attributes_is_refused(source: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(source, {"contact": {"name": "王芳"}})
    assert caught.value.code == "template_unsafe"
    assert "unsafe" in caught.value.message


def test_modifying_the_context_is_refused() -> None:
    items: list[int] = []
    with pytest.raises(TemplateError) as caught:
        render("{{ items.append(1) }}", {"items": items})
    assert caught.value.code == "template_unsafe"
    assert items == []


def test_a_syntax_error_names_the_line() -> None:
    with pytest.raises(TemplateError, match="line 2") as caught:
        render("ok\n{% if %}", {})
    assert caught.value.code == "template_syntax"
