"""operations/apidb.plan: which reference rows a converge writes, against rows recorded from a
seeded api-db (tests/unit/facts/ApiDbRows/seeded.json). Customers are never part of it."""

import copy
import json
from pathlib import Path

from wod_deploy.operations.apidb import plan, upsert

HAVE = json.loads((Path(__file__).parent / "facts/ApiDbRows/seeded.json").read_text())["value"]
LOCATION = "d-be.wod.test"
WORKSHOP = {"name": "Test101", "notebook": "WKSHP-Test101", "capacity": 20, "range": [1, 20], "reset": False,
            "duration": "4", "location": LOCATION, "sessionType": "Workshops-on-Demand", "alternateLocation": [""]}
LOCATIONS = [{"name": LOCATION, "basestdid": 0, "proto": "http", "port": "8000"}]
STUDENTS = [{"id": 2, "username": "student2", "location": LOCATION, "password": "unset",
             "url": f"http://{LOCATION}:8000/user/student2/lab?"}]
USERS = {"moderator": ("moderator", "moderator-pw"), "hackshack": ("admin", "admin-pw")}


def changes(have=HAVE, workshops=(WORKSHOP,), users=USERS):
    return [what for what, _ in plan(have, list(workshops), LOCATIONS, STUDENTS, users)]


def test_a_seeded_database_needs_nothing_even_where_registrations_moved_the_capacity():
    # the recorded row's capacity is 19 (a registration took a seat), wod.yml says 20 and "4" hours
    assert HAVE["workshops"]["WKSHP-Test101"]["capacity"] == 19
    assert changes() == []


def test_what_differs_is_written_and_only_that():
    have = copy.deepcopy(HAVE)
    have["workshops"]["WKSHP-Test101"]["location"] = "elsewhere"
    del have["students"]["2"]
    have["users"]["hackshack"]["roles"] = ["user"]
    assert changes(have) == ["workshop WKSHP-Test101", "student 2", "students' id sequence", "user hackshack's roles"]
    assert changes(users={**USERS, "moderator": ("moderator", "a-new-password")}) == ["user moderator's password"]
    assert changes(have={})[:3] == ["workshop WKSHP-Test101", "location d-be.wod.test", "student 2"]  # none yet


def test_capacity_and_a_students_password_are_set_on_insert_only():
    sql = upsert("workshops", "notebook", WORKSHOP, insert_only=("capacity",))
    update, insert = sql.splitlines()
    assert update.startswith("UPDATE workshops SET (") and '"capacity"' not in update.split(" = (")[0]
    assert insert.startswith('INSERT INTO workshops (') and '"capacity"' in insert and "WHERE NOT EXISTS" in insert
    assert "customers" not in "".join(sql for _, sql in plan({}, [WORKSHOP], LOCATIONS, STUDENTS, USERS))
