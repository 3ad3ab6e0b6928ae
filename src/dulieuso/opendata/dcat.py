# SPDX-License-Identifier: AGPL-3.0-or-later
"""DCAT: the open-data catalogue as RDF, aligned with DCAT-AP 3.0.

``/catalog.{ttl,jsonld,rdf}`` pages the catalogue like ckanext-dcat (``?page=``,
``?modified_since=``, Hydra ``PagedCollection``, 100 datasets a page);
``/dataset/{slug}.{ttl,jsonld,rdf}`` describes one dataset. Both validate against the
official DCAT-AP 3.0.0 SHACL shapes (``tests/opendata/test_dcat.py``). The shapes check
the class of every node a property points at without inference, so each node is typed
with the exact class the shape names (a publisher is a ``foaf:Agent``, a licence a
``dct:LicenseDocument``, a URL an ``rdfs:Resource``...).

The graph is built from the facade's CKAN dicts (as ckanext-dcat's profiles do), so the
CKAN API and the DCAT documents always describe a dataset the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from dulieuso.auth.permissions import ANONYMOUS
from dulieuso.config import Settings
from dulieuso.errors import Invalid, NotFound
from dulieuso.i18n import Msg

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
EU = "http://publications.europa.eu/resource/authority/"
EU_THEME = URIRef(EU + "data-theme")
EU_FILE_TYPE = EU + "file-type/"
EU_FREQUENCY = EU + "frequency/"
EU_LANGUAGE = EU + "language/"
PUBLISHER_TYPE = "http://purl.org/adms/publishertype/"
IANA = "https://www.iana.org/assignments/media-types/"

#: DCAT 3 term missing from rdflib's closed DCAT namespace.
DCAT_VERSION = URIRef("http://www.w3.org/ns/dcat#version")

PAGE_SIZE = 100
FORMATS = {
    "ttl": ("turtle", "text/turtle"),
    "jsonld": ("json-ld", "application/ld+json"),
    "rdf": ("xml", "application/rdf+xml"),
}

#: Our resource formats -> (EU file-type code, IANA media type or None).
FILE_TYPES = {
    "CSV": ("CSV", "text/csv"),
    "TSV": ("TSV", "text/tab-separated-values"),
    "XLSX": ("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "XLS": ("XLS", "application/vnd.ms-excel"),
    "JSON": ("JSON", "application/json"),
    "GEOJSON": ("GEOJSON", "application/geo+json"),
    "PARQUET": ("PARQUET", "application/vnd.apache.parquet"),
    "PDF": ("PDF", "application/pdf"),
    "XML": ("XML", "application/xml"),
    "ZIP": ("ZIP", "application/zip"),
    "ODS": ("ODS", "application/vnd.oasis.opendocument.spreadsheet"),
    "DOCX": ("DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "HTML": ("HTML", "text/html"),
    "TXT": ("TXT", "text/plain"),
    "SHP": ("SHP", None),
    "KML": ("KML", "application/vnd.google-earth.kml+xml"),
    "API": ("REST", None),
}

#: Update frequencies (our values and common spellings) -> EU frequency code.
FREQUENCIES = {
    "continuous": "CONT", "realtime": "CONT", "real-time": "CONT",
    "hourly": "HOURLY", "daily": "DAILY", "weekly": "WEEKLY", "biweekly": "BIWEEKLY",
    "monthly": "MONTHLY", "bimonthly": "BIMONTHLY", "quarterly": "QUARTERLY",
    "semiannual": "ANNUAL_2", "semi-annual": "ANNUAL_2", "biannual": "ANNUAL_2", "half-yearly": "ANNUAL_2",
    "annual": "ANNUAL", "annually": "ANNUAL", "yearly": "ANNUAL", "biennial": "BIENNIAL",
    "irregular": "IRREG", "on-change": "IRREG", "as_needed": "IRREG", "as-needed": "IRREG", "never": "NEVER", "unknown": "UNKNOWN",
    "hang-ngay": "DAILY", "hang-tuan": "WEEKLY", "hang-thang": "MONTHLY", "hang-quy": "QUARTERLY",
    "6-thang": "ANNUAL_2", "hang-nam": "ANNUAL", "khong-dinh-ky": "IRREG",
}

#: EU data themes (code -> English, Vietnamese label).
EU_THEMES = {
    "AGRI": ("Agriculture, fisheries, forestry and food", "Nông nghiệp, thủy sản, lâm nghiệp và thực phẩm"),
    "ECON": ("Economy and finance", "Kinh tế và tài chính"),
    "EDUC": ("Education, culture and sport", "Giáo dục, văn hóa và thể thao"),
    "ENER": ("Energy", "Năng lượng"),
    "ENVI": ("Environment", "Môi trường"),
    "GOVE": ("Government and public sector", "Chính phủ và khu vực công"),
    "HEAL": ("Health", "Y tế"),
    "INTR": ("International issues", "Vấn đề quốc tế"),
    "JUST": ("Justice, legal system and public safety", "Tư pháp, pháp luật và an toàn công cộng"),
    "REGI": ("Regions and cities", "Vùng và đô thị"),
    "SOCI": ("Population and society", "Dân số và xã hội"),
    "TECH": ("Science and technology", "Khoa học và công nghệ"),
    "TRAN": ("Transport", "Giao thông vận tải"),
}
#: Words in a topic group's name -> EU data theme (first match wins).
THEME_WORDS = (
    ("nong-nghiep", "AGRI"), ("lam-nghiep", "AGRI"), ("thuy-san", "AGRI"), ("agri", "AGRI"),
    ("tai-chinh", "ECON"), ("kinh-te", "ECON"), ("ngan-sach", "ECON"), ("doanh-nghiep", "ECON"), ("dau-tu", "ECON"), ("econ", "ECON"),
    ("giao-duc", "EDUC"), ("van-hoa", "EDUC"), ("the-thao", "EDUC"), ("du-lich", "EDUC"), ("educ", "EDUC"),
    ("nang-luong", "ENER"), ("dien", "ENER"),
    ("moi-truong", "ENVI"), ("tai-nguyen", "ENVI"), ("khi-tuong", "ENVI"),
    ("y-te", "HEAL"), ("suc-khoe", "HEAL"),
    ("tu-phap", "JUST"), ("an-ninh", "JUST"), ("phap-luat", "JUST"),
    ("dat-dai", "REGI"), ("do-thi", "REGI"), ("xay-dung", "REGI"), ("quy-hoach", "REGI"), ("dia-gioi", "REGI"), ("hanh-chinh", "GOVE"),
    ("dan-so", "SOCI"), ("dan-cu", "SOCI"), ("xa-hoi", "SOCI"), ("lao-dong", "SOCI"), ("dan-toc", "SOCI"),
    ("khoa-hoc", "TECH"), ("cong-nghe", "TECH"), ("thong-tin", "TECH"), ("vien-thong", "TECH"),
    ("giao-thong", "TRAN"), ("van-tai", "TRAN"),
    ("quoc-te", "INTR"), ("doi-ngoai", "INTR"),
    ("chinh-phu", "GOVE"), ("co-quan", "GOVE"), ("cong-khai", "GOVE"),
)


def eu_theme(group_name: str) -> str | None:
    for word, code in THEME_WORDS:
        if word in group_name:
            return code
    return None


def file_type(fmt: str) -> tuple[str, str | None] | None:
    return FILE_TYPES.get((fmt or "").strip().upper().lstrip("."))


def frequency(value: str | None) -> str | None:
    if not value:
        return None
    key = value.strip().lower().replace("_", "-")
    return FREQUENCIES.get(key) or FREQUENCIES.get(key.replace("-", "")) or (key.upper() if key.upper() in FREQUENCIES.values() else None)


# ----------------------------------------------------------------------- graph builder


@dataclass(frozen=True)
class CatalogInfo:
    base_url: str
    title_vi: str
    title_en: str
    description_vi: str
    description_en: str
    publisher_name_vi: str
    publisher_name_en: str


def catalog_info(settings: Settings) -> CatalogInfo:
    return CatalogInfo(
        base_url=settings.base_url.rstrip("/"),
        title_vi=f"Danh mục dữ liệu mở — {settings.site_name}",
        title_en="Open data catalogue of Lai Chau province",
        description_vi="Các bộ dữ liệu mở do cơ quan nhà nước tỉnh Lai Châu công bố.",
        description_en="Open datasets published by the state agencies of Lai Chau province, Vietnam.",
        publisher_name_vi="Ủy ban nhân dân tỉnh Lai Châu",
        publisher_name_en="People's Committee of Lai Chau province",
    )


def _extras(package: Mapping[str, Any]) -> dict[str, str]:
    return {e["key"]: e["value"] for e in package.get("extras", [])}


def _dt(value: str | None) -> Literal | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return Literal(parsed.isoformat(timespec="seconds"), datatype=XSD.dateTime)


class Builder:
    """Adds catalogue and dataset triples to one graph, typing every referenced node."""

    def __init__(self, info: CatalogInfo) -> None:
        self.info = info
        self.base = info.base_url
        self.graph = Graph()
        for prefix, ns in (
            ("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("vcard", VCARD), ("skos", SKOS),
            ("hydra", HYDRA), ("spdx", SPDX), ("adms", ADMS), ("xsd", XSD), ("rdfs", RDFS),
        ):
            self.graph.bind(prefix, ns, override=True)
        self._typed: set[tuple[URIRef | BNode, URIRef]] = set()
        self.our_scheme = URIRef(f"{self.base}/group")

    # -- helpers ---------------------------------------------------------------

    def add(self, s: Any, p: URIRef, o: Any) -> None:
        if o is not None:
            self.graph.add((s, p, o))

    def typed(self, node: URIRef | BNode, cls: URIRef) -> URIRef | BNode:
        if (node, cls) not in self._typed:
            self.graph.add((node, RDF.type, cls))
            self._typed.add((node, cls))
        return node

    def text(self, s: Any, p: URIRef, vi: str | None, en: str | None = None) -> None:
        if vi:
            self.graph.add((s, p, Literal(vi, lang="vi")))
        if en:
            self.graph.add((s, p, Literal(en, lang="en")))

    def url(self, value: str) -> URIRef:
        return self.typed(URIRef(value), RDFS.Resource)  # type: ignore[return-value]

    def document(self, value: str) -> URIRef:
        return self.typed(URIRef(value), FOAF.Document)  # type: ignore[return-value]

    def language(self, code: str) -> URIRef:
        return self.typed(URIRef(EU_LANGUAGE + code), DCTERMS.LinguisticSystem)  # type: ignore[return-value]

    def concept(self, uri: str, scheme: URIRef, label_en: str, label_vi: str | None = None) -> URIRef:
        node = URIRef(uri)
        if (node, SKOS.Concept) not in self._typed:
            self.typed(node, SKOS.Concept)
            self.text(node, SKOS.prefLabel, label_vi, label_en)
            self.graph.add((node, SKOS.inScheme, scheme))
        return node

    def scheme(self, uri: URIRef, title_en: str, title_vi: str | None = None) -> URIRef:
        if (uri, SKOS.ConceptScheme) not in self._typed:
            self.typed(uri, SKOS.ConceptScheme)
            self.text(uri, DCTERMS.title, title_vi, title_en)
        return uri

    # -- catalogue -------------------------------------------------------------

    def catalog(self, packages: Sequence[Mapping[str, Any]], *, modified: str | None = None) -> URIRef:
        info = self.info
        node = URIRef(f"{self.base}/catalog")
        self.typed(node, DCAT.Catalog)
        self.text(node, DCTERMS.title, info.title_vi, info.title_en)
        self.text(node, DCTERMS.description, info.description_vi, info.description_en)
        publisher = self.typed(URIRef(f"{self.base}/#publisher"), FOAF.Agent)
        self.text(publisher, FOAF.name, info.publisher_name_vi, info.publisher_name_en)
        self.add(publisher, DCTERMS.type, self.concept(PUBLISHER_TYPE + "RegionalAuthority", self.scheme(URIRef(PUBLISHER_TYPE), "Publisher type"), "Regional authority", "Chính quyền địa phương"))
        self.graph.add((node, DCTERMS.publisher, publisher))
        self.graph.add((node, FOAF.homepage, self.document(f"{self.base}/")))
        for code in ("VIE", "ENG"):
            self.graph.add((node, DCTERMS.language, self.language(code)))
        self.graph.add((node, DCAT.themeTaxonomy, self.scheme(EU_THEME, "Data theme", "Chủ đề dữ liệu (EU)")))
        self.graph.add((node, DCAT.themeTaxonomy, self.scheme(self.our_scheme, "Topics of the Lai Chau open data portal", "Chủ đề dữ liệu mở tỉnh Lai Châu")))
        self.add(node, DCTERMS.modified, _dt(modified))
        for package in packages:
            self.graph.add((node, DCAT.dataset, self.dataset(package)))
        return node

    def paging(self, *, url: str, page: int, total: int, params: Mapping[str, str]) -> None:
        """ckanext-dcat's Hydra paging (``hydra:PagedCollection`` with page URLs as
        literals), plus the current Hydra terms (``hydra:next`` ... as IRIs)."""
        last = max(1, math.ceil(total / PAGE_SIZE))

        def page_url(number: int) -> str:
            return f"{url}?{urlencode({**params, 'page': number})}"

        node = URIRef(page_url(page))
        self.typed(node, HYDRA.PagedCollection)
        self.graph.add((node, HYDRA.totalItems, Literal(total, datatype=XSD.integer)))
        self.graph.add((node, HYDRA.itemsPerPage, Literal(PAGE_SIZE, datatype=XSD.integer)))
        links = {"first": 1, "last": last}
        if page < last:
            links["next"] = page + 1
        if page > 1:
            links["previous"] = min(page - 1, last)
        old = {"first": HYDRA.firstPage, "last": HYDRA.lastPage, "next": HYDRA.nextPage, "previous": HYDRA.previousPage}
        for name, number in links.items():
            self.graph.add((node, old[name], Literal(page_url(number))))
            self.graph.add((node, HYDRA[name], URIRef(page_url(number))))

    # -- dataset ---------------------------------------------------------------

    def publisher(self, organization: Mapping[str, Any]) -> URIRef:
        node = URIRef(organization.get("url") or f"{self.base}/organization/{organization['name']}")
        if (node, FOAF.Agent) not in self._typed:
            self.typed(node, FOAF.Agent)
            self.text(node, FOAF.name, organization.get("title"), organization.get("title_en") or None)
            self.add(node, DCTERMS.type, self.concept(PUBLISHER_TYPE + "RegionalAuthority", self.scheme(URIRef(PUBLISHER_TYPE), "Publisher type"), "Regional authority", "Chính quyền địa phương"))
        return node

    def license(self, package: Mapping[str, Any]) -> URIRef:
        uri = package.get("license_url") or f"{self.base}/license/{quote(str(package.get('license_id') or 'notspecified'))}"
        node = URIRef(uri)
        if (node, DCTERMS.LicenseDocument) not in self._typed:
            self.typed(node, DCTERMS.LicenseDocument)
            self.text(node, DCTERMS.title, package.get("license_title"))
            self.graph.add((node, DCTERMS.identifier, Literal(str(package.get("license_id")))))
        return node

    def dataset(self, package: Mapping[str, Any]) -> URIRef:
        extras = _extras(package)
        node = URIRef(f"{self.base}/datasets/{package['id']}")  # the dataset's page (by id: stable)
        self.typed(node, DCAT.Dataset)
        self.graph.add((node, DCTERMS.identifier, Literal(package["id"])))
        self.text(node, DCTERMS.title, package["title"], extras.get("title_en"))
        # DCAT-AP requires a description; a dataset without notes is described by its title.
        self.text(node, DCTERMS.description, package.get("notes") or package["title"])
        self.graph.add((node, DCAT.landingPage, self.document(f"{self.base}/datasets/{package['name']}")))
        self.add(node, DCTERMS.issued, _dt(package.get("metadata_created")))
        self.add(node, DCTERMS.modified, _dt(package.get("metadata_modified")))
        if package.get("version"):
            self.graph.add((node, DCAT_VERSION, Literal(package["version"])))
        self.graph.add((node, DCTERMS.language, self.language("VIE")))
        access = self.typed(URIRef(EU + "access-right/PUBLIC"), DCTERMS.RightsStatement)
        self.graph.add((node, DCTERMS.accessRights, access))
        organization = package.get("organization")
        if organization:
            self.graph.add((node, DCTERMS.publisher, self.publisher(organization)))
        for tag in package.get("tags", []):
            self.graph.add((node, DCAT.keyword, Literal(tag["name"], lang="vi")))
        for group in package.get("groups", []):
            self.text(node, DCAT.keyword, group.get("title"), group.get("title_en") or None)
            mine = self.concept(f"{self.base}/group/{group['name']}", self.our_scheme, group.get("title_en") or group["title"], group.get("title"))
            self.graph.add((node, DCAT.theme, mine))
            code = eu_theme(group["name"])
            if code:
                en, vi = EU_THEMES[code]
                self.graph.add((node, DCAT.theme, self.concept(f"{EU_THEME}/{code}", self.scheme(EU_THEME, "Data theme", "Chủ đề dữ liệu (EU)"), en, vi)))
        self._contact(node, package, extras)
        code = frequency(extras.get("update_frequency"))
        if code:
            self.graph.add((node, DCTERMS.accrualPeriodicity, self.typed(URIRef(EU_FREQUENCY + code), DCTERMS.Frequency)))
        if extras.get("spatial"):
            place = self.typed(URIRef(f"{self.base}/location/{quote(extras['spatial'])}"), DCTERMS.Location)
            self.text(place, SKOS.prefLabel, extras.get("spatial_label") or extras["spatial"])
            self.graph.add((node, DCTERMS.spatial, place))
        if extras.get("temporal_from") or extras.get("temporal_to"):
            period = self.typed(BNode(), DCTERMS.PeriodOfTime)
            if extras.get("temporal_from"):
                self.graph.add((period, DCAT.startDate, Literal(date.fromisoformat(extras["temporal_from"]))))
            if extras.get("temporal_to"):
                self.graph.add((period, DCAT.endDate, Literal(date.fromisoformat(extras["temporal_to"]))))
            self.graph.add((node, DCTERMS.temporal, period))
        for resource in package.get("resources", []):
            self.graph.add((node, DCAT.distribution, self.distribution(package, resource)))
        return node

    def _contact(self, node: URIRef, package: Mapping[str, Any], extras: Mapping[str, str]) -> None:
        name = extras.get("contact_name") or (package.get("organization") or {}).get("title")
        email = extras.get("contact_email")
        if not (name or email):
            return
        contact = URIRef(f"{node}#contact")
        self.typed(contact, VCARD.Kind)
        self.typed(contact, VCARD.Organization)
        self.add(contact, VCARD.fn, Literal(name, lang="vi") if name else None)
        if email:
            self.graph.add((contact, VCARD.hasEmail, URIRef(f"mailto:{email}")))
        self.graph.add((node, DCAT.contactPoint, contact))

    def distribution(self, package: Mapping[str, Any], resource: Mapping[str, Any]) -> URIRef:
        node = URIRef(f"{self.base}/resources/{resource['id']}")
        self.typed(node, DCAT.Distribution)
        self.text(node, DCTERMS.title, resource.get("name") or package["title"])
        if resource.get("description"):
            self.text(node, DCTERMS.description, resource["description"])
        self.graph.add((node, DCAT.accessURL, self.url(f"{self.base}/resources/{resource['id']}")))
        if resource.get("url"):
            self.graph.add((node, DCAT.downloadURL, self.url(resource["url"])))
        kind = file_type(resource.get("format", ""))
        if kind:
            code, media = kind
            self.graph.add((node, DCTERMS.format, self.typed(URIRef(EU_FILE_TYPE + code), DCTERMS.MediaTypeOrExtent)))
            if media:
                self.graph.add((node, DCAT.mediaType, self.typed(URIRef(IANA + media), DCTERMS.MediaType)))
        self.graph.add((node, DCTERMS.license, self.license(package)))
        self.add(node, DCTERMS.issued, _dt(resource.get("created")))
        self.add(node, DCTERMS.modified, _dt(resource.get("last_modified")))
        if resource.get("size") is not None:
            self.graph.add((node, DCAT.byteSize, Literal(str(int(resource["size"])), datatype=XSD.nonNegativeInteger)))
        digest = resource.get("hash") or ""
        if digest.startswith("sha256:"):
            checksum = self.typed(BNode(), SPDX.Checksum)
            self.graph.add((checksum, SPDX.algorithm, self.typed(SPDX.checksumAlgorithm_sha256, SPDX.ChecksumAlgorithm)))
            self.graph.add((checksum, SPDX.checksumValue, Literal(digest.split(":", 1)[1], datatype=XSD.hexBinary)))
            self.graph.add((node, SPDX.checksum, checksum))
        if resource.get("datastore_active"):
            self.graph.add((node, DCAT.accessService, self.datastore_service()))
        return node

    def datastore_service(self) -> URIRef:
        node = URIRef(f"{self.base}/api/3/action/datastore_search")
        if (node, DCAT.DataService) not in self._typed:
            self.typed(node, DCAT.DataService)
            self.text(node, DCTERMS.title, "API dữ liệu dạng bảng (tương thích CKAN DataStore)", "Tabular data API (CKAN DataStore compatible)")
            self.graph.add((node, DCAT.endpointURL, self.url(f"{self.base}/api/3/action/")))
            self.graph.add((node, DCAT.endpointDescription, self.url(f"{self.base}/api/3/action/help_show?name=datastore_search")))
        return node


def serialize(graph: Graph, fmt: str) -> bytes:
    rdflib_format, _ = FORMATS[fmt]
    data = graph.serialize(format=rdflib_format, encoding="utf-8")
    return data if isinstance(data, bytes) else data.encode()


def catalog_graph(info: CatalogInfo, packages: Sequence[Mapping[str, Any]], *, page: int = 1, total: int | None = None, url: str | None = None, params: Mapping[str, str] | None = None) -> Graph:
    builder = Builder(info)
    modified = max((p.get("metadata_modified") or "" for p in packages), default="") or None
    builder.catalog(packages, modified=modified)
    if total is not None:
        builder.paging(url=url or f"{info.base_url}/catalog.ttl", page=page, total=total, params=params or {})
    return builder.graph


def dataset_graph(info: CatalogInfo, package: Mapping[str, Any]) -> Graph:
    builder = Builder(info)
    builder.dataset(package)
    return builder.graph


# ----------------------------------------------------------------------- routes

router = APIRouter(include_in_schema=False)


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise NotFound(Msg("Unknown RDF format {format}; use ttl, jsonld or rdf.", format=fmt[:20]))
    return fmt


def _catalog_page(request: Request, fmt: str, page: int, modified_since: datetime | None) -> bytes:
    from dulieuso.opendata.ckan_api import package_dicts, visible
    from dulieuso.opendata.models import Dataset

    settings: Settings = request.app.state.settings
    info = catalog_info(settings)
    session = request.app.state.sessionmaker()
    try:
        conditions = [visible(ANONYMOUS)]
        if modified_since is not None:
            conditions.append(Dataset.metadata_modified >= modified_since)
        total = session.scalar(select(func.count()).select_from(Dataset).where(*conditions)) or 0
        ids = list(
            session.scalars(
                select(Dataset.id).where(*conditions).order_by(Dataset.metadata_modified.desc(), Dataset.id)
                .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
            )
        )
        packages = package_dicts(session, ids, base_url=info.base_url, lang="vi")
    finally:
        session.rollback()
        session.close()
    params = {}
    if modified_since is not None:
        params["modified_since"] = request.query_params["modified_since"]
    graph = catalog_graph(info, packages, page=page, total=total, url=f"{info.base_url}/catalog.{fmt}", params=params)
    return serialize(graph, fmt)


@router.get("/catalog.{fmt}")
async def catalog_document(request: Request, fmt: str, page: str = "1", modified_since: str | None = None) -> Response:
    fmt = _format(fmt)
    try:
        number = int(page)
        if number < 1:
            raise ValueError
    except ValueError:
        raise Invalid(fields={"page": [Msg("The page must be a whole number of at least 1.")]}) from None
    since = None
    if modified_since:
        try:
            since = datetime.fromisoformat(modified_since)  # Python 3.11 reads "Z"
        except ValueError:
            raise Invalid(fields={"modified_since": [Msg("Give modified_since as an ISO 8601 date or time.")]}) from None
        since = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
    body = await run_in_threadpool(_catalog_page, request, fmt, number, since)
    return Response(body, media_type=FORMATS[fmt][1] + ";charset=utf-8")


def _dataset_document(request: Request, slug: str, fmt: str) -> bytes:
    from dulieuso.opendata.ckan_api import package_dicts, visible
    from dulieuso.opendata.models import Dataset

    settings: Settings = request.app.state.settings
    info = catalog_info(settings)
    session = request.app.state.sessionmaker()
    try:
        found = session.scalar(select(Dataset.id).where(Dataset.name == slug, visible(ANONYMOUS)))
        if found is None:
            try:
                import uuid

                found = session.scalar(select(Dataset.id).where(Dataset.id == uuid.UUID(slug), visible(ANONYMOUS)))
            except ValueError:
                found = None
        if found is None:
            raise NotFound(Msg("Dataset not found"))
        package = package_dicts(session, [found], base_url=info.base_url, lang="vi")[0]
    finally:
        session.rollback()
        session.close()
    return serialize(dataset_graph(info, package), fmt)


@router.get("/dataset/{slug}.{fmt}")
async def dataset_document(request: Request, slug: str, fmt: str) -> Response:
    fmt = _format(fmt)
    body = await run_in_threadpool(_dataset_document, request, slug, fmt)
    return Response(body, media_type=FORMATS[fmt][1] + ";charset=utf-8")


def graphs_of(packages: Iterable[Mapping[str, Any]], info: CatalogInfo) -> list[Graph]:
    """One graph per dataset (for tests and exports)."""
    return [dataset_graph(info, p) for p in packages]
