import json

import pytest

from transferkit.data import load_labeled, validate_labeled
from transferkit.errors import DataError


def test_csv_with_chosen_columns(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text('review,score\n"Great, tasty",great\nBland,other\nLovely,great\n')
    data = load_labeled(path, text_column="review", label_column="score")
    assert data.inputs == ["Great, tasty", "Bland", "Lovely"]
    assert data.class_counts == {"great": 2, "other": 1}
    assert validate_labeled(data, skip_bad_files=False).imbalance_ratio == 2.0


def test_bad_encoding_rows_are_listed_and_can_be_skipped(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_bytes(b"text,label\ngood food,pos\nbad \xff\xfe bytes,neg\nawful,neg\n")
    data = load_labeled(path)
    assert [str(item) for item in data.bad_items] == [f"{path} row 3: bad encoding (not UTF-8)"]
    with pytest.raises(DataError, match=r"row 3: bad encoding"):
        validate_labeled(data, skip_bad_files=False)
    assert validate_labeled(data, skip_bad_files=True).class_counts == {"neg": 1, "pos": 1}


def test_missing_column_suggests_the_closest(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("review,score\nnice,great\n")
    with pytest.raises(DataError, match=r"no column 'reviews' for --text-column; did you mean 'review'"):
        load_labeled(path, text_column="reviews", label_column="score")


def test_malformed_csv_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text('text,label\n"unclosed quote,pos\n')
    with pytest.raises(DataError, match=r"broken\.csv is not a well-formed CSV"):
        load_labeled(path)


def test_empty_text_and_missing_label_rows_are_bad_items(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label\nfine,pos\n,neg\nno label here,\nok,neg\n")
    data = load_labeled(path)
    assert [item.reason for item in data.bad_items] == ["empty 'text'", "missing label in 'label'"]
    assert data.inputs == ["fine", "ok"]


def test_jsonl_with_a_broken_line(tmp_path):
    path = tmp_path / "d.jsonl"
    lines = [json.dumps({"text": "yum", "label": "pos"}), "{not json", json.dumps({"text": "meh", "label": "neg"})]
    path.write_text("\n".join(lines) + "\n")
    data = load_labeled(path)
    assert data.inputs == ["yum", "meh"]
    assert len(data.bad_items) == 1 and "line 2: not valid JSON" in str(data.bad_items[0])


def test_empty_file_and_unknown_suffix(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv is empty"):
        load_labeled(empty)
    other = tmp_path / "data.xlsx"
    other.write_text("x")
    with pytest.raises(DataError, match="neither a folder of class sub-folders nor a table"):
        load_labeled(other)


def test_extra_fields_in_the_first_data_row_are_an_error_not_a_shift(tmp_path):
    # Without index_col=False pandas took the first column as the index and shifted every column by one.
    path = tmp_path / "reviews.csv"
    path.write_text("text,label\nhello,pos,extra\nbye,neg\n")
    with pytest.raises(DataError, match=r"reviews\.csv row 2 \(the first data row\) has more fields than the header"):
        load_labeled(path)


def test_a_trailing_short_row_keeps_the_columns_in_place(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("text,label,note\nhello,pos\nbye,neg,x\n")
    data = load_labeled(path)
    assert data.inputs == ["hello", "bye"] and data.labels == ["pos", "neg"]


def test_json_array_records_with_bad_bytes_or_no_object_are_bad_items(tmp_path):
    path = tmp_path / "reviews.json"
    good = json.dumps([{"text": "tasty", "label": "pos"}, {"text": "awful", "label": "neg"}])
    path.write_bytes(good[:-1].encode() + b', {"text": "bad \xff bytes", "label": "neg"}, 7, {"text": null}]')
    data = load_labeled(path)
    assert [str(item) for item in data.bad_items] == [
        f"{path} record 3: bad encoding (not UTF-8)",
        f"{path} record 4: not a JSON object",
        f"{path} record 5: empty 'text'",
    ]
    assert data.inputs == ["tasty", "awful"] and data.labels == ["pos", "neg"]
    with pytest.raises(DataError, match=r"record 3: bad encoding"):
        validate_labeled(data, skip_bad_files=False)
