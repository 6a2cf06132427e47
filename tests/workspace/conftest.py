import pytest

from tests.factories import PropertyFactory, advance, make_application


@pytest.fixture
def case(programme, allocation, people):
    """Make Alice's application and walk it to a state: ``case("checked")``."""

    def make(state="submitted", **kwargs):
        application = make_application(programme=programme, applicant=people.alice, **kwargs)
        return advance(application, state, people)

    return make


@pytest.fixture
def another_property():
    return PropertyFactory(house_number="14")
