import os

import pandas as pd
import pytest

from vehiclust.exceptions import InputError
from vehiclust.io import load_case, normalise_path, read_paths, resolve_under_root
from vehiclust.io.labels import join_labels, read_labels


def test_windows_paths_are_normalised(tmp_path):
    csv = tmp_path / "images_paths.csv"
    csv.write_text("paths\nveriwild\\1\\00001\\000001.jpg\n.\\a\\b.jpg\n")
    assert read_paths(csv).tolist() == ["veriwild/1/00001/000001.jpg", "a/b.jpg"]
    assert normalise_path(None) == ""


def test_path_column_named_path_also_accepted(tmp_path):
    csv = tmp_path / "p.csv"
    csv.write_text("path\nx.jpg\n")
    assert read_paths(csv).tolist() == ["x.jpg"]
    bad = tmp_path / "bad.csv"
    bad.write_text("file\nx.jpg\n")
    with pytest.raises(InputError, match="'paths' or 'path'"):
        read_paths(bad)


@pytest.mark.parametrize("rel", ["../../etc/passwd", "a/../../x.jpg", "/etc/passwd", "C:/Windows/x.jpg", "\\\\server\\share\\x.jpg", ""])
def test_traversal_and_absolute_paths_refused(tmp_path, rel):
    (tmp_path / "root").mkdir()
    with pytest.raises(InputError):
        resolve_under_root(tmp_path / "root", normalise_path(rel) if rel.startswith("..") or rel.startswith("a/") else rel)


def test_symlink_out_of_root_refused(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.jpg").write_bytes(b"x")
    os.symlink(tmp_path / "secret.jpg", root / "link.jpg")
    (root / "ok.jpg").write_bytes(b"y")
    with pytest.raises(InputError, match="outside"):
        resolve_under_root(root, "link.jpg")
    assert resolve_under_root(root, "ok.jpg") == (root / "ok.jpg").resolve()


def test_load_case_flags_refused_paths_and_joins_labels(tmp_path):
    import numpy as np

    root = tmp_path / "images"
    (root / "veriwild" / "1").mkdir(parents=True)
    (tmp_path / "paths.csv").write_text("paths\nveriwild\\1\\a.jpg\n..\\..\\x.jpg\nveriwild\\1\\b.jpg\n")
    np.save(tmp_path / "d.npy", np.eye(3, dtype=np.float32))
    (tmp_path / "labels.csv").write_text("path,type\nveriwild/1/a.jpg,car\nveriwild\\1\\b.jpg,bus\n")
    case = load_case({"d": tmp_path / "d.npy"}, tmp_path / "paths.csv", images=root, labels=tmp_path / "labels.csv")
    assert case.samples["resolved"].iloc[1] == ""
    assert "outside" in case.samples["path_error"].iloc[1]
    assert case.samples["type"].tolist()[0] == "car" and case.samples["type"].tolist()[2] == "bus"
    assert pd.isna(case.samples["type"].iloc[1])
    assert case.label_columns == ["type"]


def test_row_count_mismatch_names_both_counts_and_files(tmp_path):
    import numpy as np

    (tmp_path / "images_paths.csv").write_text("paths\n" + "\n".join(f"{i}.jpg" for i in range(5)) + "\n")
    np.save(tmp_path / "osnet.npy", np.zeros((4, 3), np.float32))
    with pytest.raises(InputError, match=r"images_paths.csv has 5 rows but osnet.npy has 4"):
        load_case({"osnet": tmp_path / "osnet.npy"}, tmp_path / "images_paths.csv")


def test_labels_that_match_nothing_are_an_error(tmp_path):
    import numpy as np

    (tmp_path / "p.csv").write_text("paths\na.jpg\n")
    np.save(tmp_path / "d.npy", np.zeros((1, 2), np.float32))
    (tmp_path / "l.csv").write_text("path,type\nzzz.jpg,car\n")
    with pytest.raises(InputError, match="matches none"):
        load_case({"d": tmp_path / "d.npy"}, tmp_path / "p.csv", labels=tmp_path / "l.csv")


def test_duplicate_labels_warn_and_keep_first(tmp_path):
    (tmp_path / "l.csv").write_text("path,type\na.jpg,car\na.jpg,bus\n")
    with pytest.warns(UserWarning, match="duplicate"):
        labels = read_labels(tmp_path / "l.csv")
    assert join_labels(pd.Series(["a.jpg"]), labels)["type"].tolist() == ["car"]
