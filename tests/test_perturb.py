import numpy as np
import pytest

from proxyx.errors import DataError
from proxyx.perturb import Segments


def test_units_and_render():
    s = Segments("this stuff is  not   good")
    assert s.units == ("this", "stuff", "is", "not", "good")
    assert s.full == "this stuff is not good"
    assert s.render([True, False, True, True, False]) == "this is not"
    assert s.render(np.zeros(5, bool)) == ""


def test_without_top_deletes_highest():
    s = Segments("a b c d")
    assert s.without_top([0.1, 0.9, -1.0, 0.5], 2) == "a c"


@pytest.mark.parametrize("text", [pytest.param("", id="empty"), pytest.param("   \n\t", id="blank")])
def test_empty_text_is_a_data_error(text):
    with pytest.raises(DataError, match="empty"):
        Segments(text)


def test_mask_shape_checked():
    with pytest.raises(ValueError):
        Segments("a b").render([True])
