# SPDX-License-Identifier: AGPL-3.0-or-later
"""DCAT documents: parsed back with rdflib, validated with pyshacl against the official
DCAT-AP 3.0.0 SHACL shapes (``../shared/conformance/dcat-ap-3.0.0``; a copy is kept in
``tests/data/dcat-ap-3.0.0`` for checkouts without ``shared/``): zero violations for
every catalogue page and every dataset document, in Turtle, JSON-LD and RDF/XML."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyshacl
import pytest
import rdflib
from fastapi.testclient import TestClient
from rdflib.namespace import DCAT, DCTERMS, RDF, SKOS

from dulieuso.opendata import ckan_api, dcat
from tests.opendata import test_ckan_api
from tests.opendata.test_ckan_api import make_dataset

HERE = Path(__file__).resolve().parent
SHAPES_CANDIDATES = (
    HERE.parents[2] / "shared" / "conformance" / "dcat-ap-3.0.0" / "dcat-ap-SHACL.ttl",
    HERE.parent / "data" / "dcat-ap-3.0.0" / "dcat-ap-SHACL.ttl",
)
HYDRA = rdflib.Namespace("http://www.w3.org/ns/hydra/core#")
catalogue = test_ckan_api.catalogue  # the same fixture: three agencies' datasets, one private, one draft
# rdflib 7's own JSON-LD parser builds a ConjunctiveGraph and warns about it; not ours.
jsonld_warning = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")


@lru_cache
def shapes() -> rdflib.Graph:
    for path in SHAPES_CANDIDATES:
        if path.exists():
            return rdflib.Graph().parse(path, format="turtle")
    raise FileNotFoundError("DCAT-AP 3.0.0 shapes not found in " + ", ".join(map(str, SHAPES_CANDIDATES)))


def violations(graph: rdflib.Graph) -> str | None:
    conforms, _, report = pyshacl.validate(graph, shacl_graph=shapes(), inference="none")
    return None if conforms else str(report)


def parse(data: bytes, fmt: str) -> rdflib.Graph:
    return rdflib.Graph().parse(data=data, format=dcat.FORMATS[fmt][0])


INFO = dcat.CatalogInfo("http://data.example.vn", "Danh mục", "Catalogue", "Mô tả", "Description", "UBND tỉnh", "Provincial committee")
PACKAGE: dict[str, Any] = {
    "id": "0b5e6a1e-0000-4000-8000-000000000001",
    "name": "danh-sach-truong-hoc",
    "title": "Danh sách trường học",
    "notes": "Các trường học trên địa bàn tỉnh.",
    "metadata_created": "2026-01-01T00:00:00.123456",
    "metadata_modified": "2026-01-02T00:00:00",
    "version": "1.0",
    "license_id": "CC-BY-4.0",
    "license_title": "CC BY 4.0",
    "license_url": "https://creativecommons.org/licenses/by/4.0/",
    "organization": {"name": "lcu-sgddt", "title": "Sở Giáo dục và Đào tạo", "title_en": "Department of Education", "url": "http://data.example.vn/agencies/LCU-SGDDT"},
    "tags": [{"name": "giáo dục"}],
    "groups": [{"name": "giao-duc", "title": "Giáo dục", "title_en": "Education"}],
    "extras": [
        {"key": "title_en", "value": "List of schools"},
        {"key": "update_frequency", "value": "annual"},
        {"key": "spatial", "value": "12"},
        {"key": "spatial_label", "value": "Tỉnh Lai Châu"},
        {"key": "temporal_from", "value": "2020-01-01"},
        {"key": "temporal_to", "value": "2025-12-31"},
        {"key": "contact_email", "value": "lienhe@example.vn"},
    ],
    "resources": [
        {
            "id": "r1", "name": "Danh sách (CSV)", "format": "CSV", "url": "http://data.example.vn/r1.csv", "size": 1024,
            "hash": "sha256:" + "ab" * 32, "created": "2026-01-01T00:00:00", "last_modified": "2026-01-01T00:00:00",
            "datastore_active": True,
        },
        {"id": "r2", "name": "Bản đồ", "format": "weird", "url": "", "created": None, "last_modified": None},
    ],
}


class TestBuilder:
    @pytest.mark.parametrize("fmt", ["ttl", pytest.param("jsonld", marks=jsonld_warning), "rdf"])
    def test_dataset_document_conforms_in_every_format(self, fmt):
        graph = parse(dcat.serialize(dcat.dataset_graph(INFO, PACKAGE), fmt), fmt)
        assert violations(graph) is None

    @pytest.mark.parametrize("fmt", ["ttl", pytest.param("jsonld", marks=jsonld_warning), "rdf"])
    def test_catalogue_page_conforms_in_every_format(self, fmt):
        graph = parse(dcat.serialize(dcat.catalog_graph(INFO, [PACKAGE], page=2, total=250), fmt), fmt)
        assert violations(graph) is None

    def test_the_shapes_do_catch_a_broken_document(self):
        graph = dcat.dataset_graph(INFO, PACKAGE)
        node = rdflib.URIRef(f"{INFO.base_url}/datasets/{PACKAGE['id']}")
        graph.remove((node, DCTERMS.description, None))
        publisher = next(graph.objects(node, DCTERMS.publisher))
        graph.remove((publisher, RDF.type, None))
        report = violations(graph)
        assert report is not None and "description" in report and "Agent" in report

    def test_vocabularies_and_language_tags(self):
        graph = dcat.dataset_graph(INFO, PACKAGE)
        node = rdflib.URIRef(f"{INFO.base_url}/datasets/{PACKAGE['id']}")
        titles = {(t.language, str(t)) for t in graph.objects(node, DCTERMS.title)}
        assert titles == {("vi", "Danh sách trường học"), ("en", "List of schools")}
        keywords = {(k.language, str(k)) for k in graph.objects(node, DCAT.keyword)}
        assert ("vi", "giáo dục") in keywords and ("en", "Education") in keywords
        assert (node, DCTERMS.accrualPeriodicity, rdflib.URIRef(dcat.EU_FREQUENCY + "ANNUAL")) in graph
        themes = set(graph.objects(node, DCAT.theme))
        assert rdflib.URIRef(f"{dcat.EU_THEME}/EDUC") in themes
        assert (rdflib.URIRef(f"{dcat.EU_THEME}/EDUC"), SKOS.inScheme, dcat.EU_THEME) in graph
        distribution = rdflib.URIRef(f"{INFO.base_url}/resources/r1")
        assert (distribution, DCTERMS.format, rdflib.URIRef(dcat.EU_FILE_TYPE + "CSV")) in graph
        assert (distribution, DCAT.mediaType, rdflib.URIRef(dcat.IANA + "text/csv")) in graph
        period = next(graph.objects(node, DCTERMS.temporal))
        assert str(next(graph.objects(period, DCAT.startDate))) == "2020-01-01"

    def test_paging_links_like_ckanext_dcat(self):
        graph = dcat.catalog_graph(INFO, [PACKAGE], page=2, total=250, url="http://data.example.vn/catalog.ttl", params={"modified_since": "2026-01-01"})
        page = rdflib.URIRef("http://data.example.vn/catalog.ttl?modified_since=2026-01-01&page=2")
        assert (page, RDF.type, HYDRA.PagedCollection) in graph
        assert int(next(graph.objects(page, HYDRA.totalItems))) == 250
        assert str(next(graph.objects(page, HYDRA.nextPage))).endswith("page=3")
        assert str(next(graph.objects(page, HYDRA.previousPage))).endswith("page=1")
        assert next(graph.objects(page, HYDRA.next)) == rdflib.URIRef("http://data.example.vn/catalog.ttl?modified_since=2026-01-01&page=3")

    def test_unknown_frequency_and_format_are_left_out(self):
        assert dcat.frequency("whenever") is None
        assert dcat.file_type("weird") is None
        assert dcat.frequency("hang-quy") == "QUARTERLY"


@pytest.fixture
def web(app: Any) -> Iterator[TestClient]:
    app.router.routes[:0] = [*dcat.router.routes, *ckan_api.router.routes]
    with TestClient(app) as client:
        yield client


class TestRoutes:
    @pytest.mark.parametrize("fmt", ["ttl", pytest.param("jsonld", marks=jsonld_warning), "rdf"])
    def test_catalogue_page_from_the_database_conforms(self, web, catalogue, fmt):
        response = web.get(f"/catalog.{fmt}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(dcat.FORMATS[fmt][1])
        graph = parse(response.content, fmt)
        assert violations(graph) is None
        datasets = set(graph.objects(None, DCAT.dataset))
        assert len(datasets) == 3  # the private dataset and the draft are not published

    @pytest.mark.parametrize("fmt", ["ttl", pytest.param("jsonld", marks=jsonld_warning), "rdf"])
    def test_every_dataset_document_conforms(self, web, catalogue, fmt):
        for key in ("schools", "teachers", "budget"):
            response = web.get(f"/dataset/{catalogue[key].name}.{fmt}")
            assert response.status_code == 200, response.text
            assert violations(parse(response.content, fmt)) is None, key

    def test_private_dataset_has_no_document(self, web, catalogue):
        assert web.get(f"/dataset/{catalogue['secret'].name}.ttl").status_code == 404

    def test_modified_since_and_paging(self, web, catalogue, db):
        for number in range(dcat.PAGE_SIZE):
            make_dataset(db, catalogue["finance"], f"Bộ dữ liệu số {number}", formats=())
        graph = parse(web.get("/catalog.ttl").content, "ttl")
        page = next(graph.subjects(RDF.type, HYDRA.PagedCollection))
        assert int(next(graph.objects(page, HYDRA.totalItems))) == dcat.PAGE_SIZE + 3
        assert len(set(graph.objects(None, DCAT.dataset))) == dcat.PAGE_SIZE
        second = parse(web.get(str(next(graph.objects(page, HYDRA.nextPage))).replace("http://127.0.0.1:8000", "")).content, "ttl")
        assert len(set(second.objects(None, DCAT.dataset))) == 3
        recent = parse(web.get("/catalog.ttl", params={"modified_since": "2026-01-12T00:00:00Z"}).content, "ttl")
        assert {str(o) for o in recent.objects(None, DCTERMS.identifier) if len(str(o)) == 36} >= {str(catalogue["budget"].id)}
        assert str(catalogue["schools"].id) not in {str(o) for o in recent.objects(None, DCTERMS.identifier)}

    def test_bad_page_and_format(self, web, catalogue):
        assert web.get("/catalog.ttl", params={"page": "0"}).status_code == 422
        assert web.get("/catalog.ttl", params={"modified_since": "yesterday"}).status_code == 422
        assert web.get("/catalog.csv").status_code == 404
