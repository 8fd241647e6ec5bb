"""Real data sources → cohortkit's tidy tables.

* Google Analytics 4 export (the BigQuery ``events_YYYYMMDD`` schema, or the same schema as Parquet):
  :func:`ga4_events`, :func:`ga4_transactions`, :func:`ga4_customers`. Each returns an **Ibis
  expression**, so on BigQuery (or Spark, or DuckDB over Parquet) the reshaping runs where the data lives;
  pass the result straight to :func:`cohortkit.funnel`, :func:`cohortkit.cohort_table`, … or run it
  with :func:`cohortkit.to_pandas`.
* Ad-platform cost reports (Google Ads, Meta, or any CSV with recognisable headers, Japanese headers
  included): :func:`ad_costs` → the ``campaigns`` table shape (``date, campaign, channel, impressions,
  clicks, spend[, conversions]``).

GA4 fields used (names as in the published export schema): ``event_date`` (``YYYYMMDD`` string),
``event_timestamp`` (microseconds since the epoch, UTC), ``event_name``, ``user_pseudo_id``, ``user_id``,
``event_params`` (repeated ``key`` / ``value.{string,int,float,double}_value`` records),
``traffic_source`` (``source``, ``medium``, ``name``: the user's first-touch acquisition),
``collected_traffic_source`` (``manual_source``, ``manual_medium``, ``manual_campaign_name``, ``gclid``,
…: the event's own campaign parameters), ``ecommerce`` (``transaction_id``, ``purchase_revenue``).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any, Literal, Mapping

import ibis
import ibis.expr.types as ir
import pandas as pd

from .io import as_table, decode_text, parse_timestamp, zone_wall_clock
from ._errors import DataError

__all__ = ["ga4_events", "ga4_transactions", "ga4_customers", "ad_costs", "to_ga4_export", "GA4_REQUIRED"]

#: Columns every GA4 export has and cohortkit needs.
GA4_REQUIRED = ("event_date", "event_timestamp", "event_name", "user_pseudo_id")
_GA4_OPTIONAL = ("user_id", "event_params", "traffic_source", "collected_traffic_source", "ecommerce")


def _date_key(value: Any, argument: str) -> str | None:
    if value is None:
        return None
    return parse_timestamp(value, argument=argument).strftime("%Y%m%d")


def _ga4(data: Any, start: Any, end: Any) -> ir.Table:
    table = as_table(data, argument="data")
    names = list(table.schema().names)
    missing = [c for c in GA4_REQUIRED if c not in names]
    if missing:
        expected = ", ".join(GA4_REQUIRED + _GA4_OPTIONAL)
        found = ", ".join(names[:25]) + (", ..." if len(names) > 25 else "")
        raise DataError(
            f"data is not a GA4 export: missing column(s) {', '.join(missing)}. Expected the GA4 "
            f"BigQuery export schema ({expected}); found {found}. Pass the events_* table (or its "
            "Parquet export) as it is, without flattening it."
        )
    schema = table.schema()
    for column, ok, expected in (
        ("event_timestamp", schema["event_timestamp"].is_integer(), "integer microseconds since 1970 (INT64)"),
        ("event_date", schema["event_date"].is_string() or schema["event_date"].is_integer(),
         "'YYYYMMDD' strings"),
    ):
        if not ok:
            raise DataError(
                f"column {column!r} of the GA4 export must hold {expected}, but has type "
                f"{schema[column]}. Pass the export as BigQuery wrote it (not a converted copy)."
            )
    first, last = _date_key(start, "start"), _date_key(end, "end")
    if first and last and first > last:
        raise DataError(f"start={start!r} is after end={end!r}; pass start <= end.")
    date_key = table.event_date.cast("string")
    if first:
        table = table.filter(date_key >= first)
    if last:
        table = table.filter(date_key <= last)
    return table


def _column(table: ir.Table, name: str, dtype: str = "string") -> ir.Value:
    if name in table.schema().names:
        value = table[name]
        return value.cast(dtype) if value.type().is_null() or name == "user_id" else value
    return ibis.null(dtype)


def _field(table: ir.Table, struct: str, field: str, dtype: str = "string") -> ir.Value:
    if struct not in table.schema().names:
        return ibis.null(dtype)
    stype = table[struct].type()
    if not stype.is_struct() or field not in stype.names:
        return ibis.null(dtype)
    return table[struct][field].cast(dtype)


def _param(table: ir.Table, key: str, kind: Literal["string", "int", "double"]) -> ir.Value:
    """The first ``event_params`` value with this key (typed null when absent)."""
    dtype = {"string": "string", "int": "int64", "double": "float64"}[kind]
    if "event_params" not in table.schema().names:
        return ibis.null(dtype)
    ptype = table.event_params.type()
    if not (ptype.is_array() and ptype.value_type.is_struct()):
        return ibis.null(dtype)
    value_type = ptype.value_type["value"]
    fields = [f"{kind}_value"] + (["float_value", "int_value"] if kind == "double" else [])
    fields = [f for f in fields if value_type.is_struct() and f in value_type.names]
    if not fields:
        return ibis.null(dtype)
    matching = table.event_params.filter(lambda p: p.key == key)
    values = [matching.map(lambda p, f=f: p.value[f].cast(dtype))[0] for f in fields]
    return ibis.coalesce(*values) if len(values) > 1 else values[0]


def _timestamp(table: ir.Table, tz: str | None) -> ir.Value:
    # microseconds → milliseconds: every backend supports millisecond epochs; the result is UTC
    utc = (table.event_timestamp.cast("int64") // 1000).as_timestamp("ms")
    return utc if tz is None else zone_wall_clock(utc, tz)


def ga4_events(data: Any, *, start: Any = None, end: Any = None, tz: str | None = None) -> ir.Table:
    """The tidy event log from a GA4 export, as an Ibis expression.

    Parameters
    ----------
    data : ibis.Table, str, Path or pandas.DataFrame
        A GA4-export-shaped table: a BigQuery ``events_*`` table through an Ibis connection, a
        Parquet path or glob of the same schema, or a DataFrame with the nested columns.
    start, end : date-like, optional
        Inclusive bounds on ``event_date`` (the export's partition key).
    tz : str, optional
        The time zone whose calendar the times are put on (``"Asia/Tokyo"``): GA4 records
        ``event_timestamp`` in UTC microseconds. Default ``None`` keeps UTC.

    Returns
    -------
    ibis.Table
        ``user_id`` (the signed-in ``user_id`` when set, else ``user_pseudo_id``), ``timestamp``
        (UTC or the wall-clock time in ``tz``, millisecond resolution), ``event`` (``event_name``), ``session_id``
        (``user_pseudo_id`` + ``-`` + the ``ga_session_id`` event parameter), ``source``, ``medium``,
        ``campaign`` (the event's collected traffic source — ``manual_source`` / ``manual_medium`` /
        ``manual_campaign_name`` — falling back to the ``source`` / ``medium`` / ``campaign`` event
        parameters).

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"event_date": ["20240105"], "event_timestamp": [1704412800123456],
    ...                     "event_name": ["page_view"], "user_pseudo_id": ["123.456"]})
    >>> from cohortkit import to_pandas
    >>> to_pandas(ga4_events(raw))[["user_id", "timestamp", "event"]]
       user_id               timestamp      event
    0  123.456 2024-01-05 00:00:00.123  page_view
    """
    t = _ga4(data, start, end)
    user = ibis.coalesce(_column(t, "user_id"), t.user_pseudo_id.cast("string"))
    session = _param(t, "ga_session_id", "int")
    session_id = ibis.cases(
        (session.notnull(), t.user_pseudo_id.cast("string") + "-" + session.cast("string")),
        else_=ibis.null("string"),
    )
    return t.select(
        user_id=user,
        timestamp=_timestamp(t, tz),
        event=t.event_name.cast("string"),
        session_id=session_id,
        source=ibis.coalesce(_field(t, "collected_traffic_source", "manual_source"), _param(t, "source", "string")),
        medium=ibis.coalesce(_field(t, "collected_traffic_source", "manual_medium"), _param(t, "medium", "string")),
        campaign=ibis.coalesce(
            _field(t, "collected_traffic_source", "manual_campaign_name"), _param(t, "campaign", "string")
        ),
    )


def ga4_transactions(data: Any, *, start: Any = None, end: Any = None, tz: str | None = None) -> ir.Table:
    """Purchases from a GA4 export → ``customer_id, date, amount, transaction_id`` (Ibis expression).

    One row per ``purchase`` event, de-duplicated on ``ecommerce.transaction_id`` (GA4 records a
    purchase again when the confirmation page is reloaded; the earliest event of each id is kept).
    Purchases without a transaction id are all kept. ``amount`` is ``ecommerce.purchase_revenue``,
    falling back to the ``value`` event parameter. ``data``, ``start``, ``end`` and ``tz`` as in
    :func:`ga4_events` (``tz="Asia/Tokyo"`` puts purchase times on Tokyo's calendar).

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({
    ...     "event_date": ["20240105"] * 3, "event_name": ["purchase"] * 3,
    ...     "event_timestamp": [1704412800000000, 1704412860000000, 1704499200000000],
    ...     "user_pseudo_id": ["a", "a", "b"],
    ...     "ecommerce": [{"transaction_id": "T1", "purchase_revenue": 30.0},
    ...                   {"transaction_id": "T1", "purchase_revenue": 30.0},   # a reload
    ...                   {"transaction_id": "T2", "purchase_revenue": 12.5}]})
    >>> from cohortkit import to_pandas
    >>> to_pandas(ga4_transactions(raw))
      customer_id       date  amount transaction_id
    0           a 2024-01-05    30.0             T1
    1           b 2024-01-06    12.5             T2
    >>> to_pandas(ga4_transactions(raw, tz="Asia/Tokyo"))["date"].tolist()   # 09:00 in Tokyo
    [Timestamp('2024-01-05 09:00:00'), Timestamp('2024-01-06 09:00:00')]
    """
    events = _ga4(data, start, end)
    t = events.filter(events.event_name == "purchase")
    rows = t.select(
        customer_id=ibis.coalesce(_column(t, "user_id"), t.user_pseudo_id.cast("string")),
        date=_timestamp(t, tz),
        amount=ibis.coalesce(
            _field(t, "ecommerce", "purchase_revenue", "float64"), _param(t, "value", "double")
        ),
        transaction_id=_field(t, "ecommerce", "transaction_id"),
    )
    order = ibis.window(group_by=rows.transaction_id, order_by=[rows.date, rows.customer_id])
    ranked = rows.mutate(__k=ibis.row_number().over(order))
    keep = ranked.transaction_id.isnull() | (ranked.__k == 0)
    return ranked.filter(keep).drop("__k").order_by(["date", "customer_id"])


def _channel(source: ir.StringValue, medium: ir.StringValue) -> ir.StringValue:
    """A simplified GA4 default channel grouping from source / medium."""
    m = medium.lower()
    s = source.lower()
    return ibis.cases(
        ((s == "(direct)") & (m.isin(["(none)", "(not set)"]) | m.isnull()), "Direct"),
        (m.isin(["cpc", "ppc", "paid", "paidsearch"]) & s.isin(["google", "bing", "yahoo", "baidu", "naver"]), "Paid Search"),
        (m.isin(["paid_social", "paidsocial", "social_paid", "social-paid"]), "Paid Social"),
        (m.isin(["display", "banner", "cpm", "interstitial", "expandable"]), "Display"),
        (m.isin(["cpc", "ppc", "paid"]), "Paid Other"),
        (m == "organic", "Organic Search"),
        (m.isin(["social", "social-network", "social-media", "sm", "social network", "social media"]), "Organic Social"),
        (m.isin(["email", "e-mail", "e_mail", "e mail", "line"]), "Email"),
        (m == "affiliate", "Affiliates"),
        (m == "referral", "Referral"),
        (m.isin(["video", "paid_video"]), "Video"),
        else_="Unassigned",
    )


def ga4_customers(data: Any, *, start: Any = None, end: Any = None, tz: str | None = None) -> ir.Table:
    """Purchasing users with their first-touch acquisition → the ``customers`` table (Ibis expression).

    Attribution rule (first touch): a customer's ``source`` / ``medium`` / ``campaign`` are the
    ``traffic_source`` fields (GA4's record of how the user was first acquired) on the customer's
    earliest event; where ``traffic_source`` is absent, the event's own collected source is used.
    ``channel`` is a simplified GA4 default channel grouping of source and medium. ``acquired_at`` is the
    first purchase; ``first_seen`` the first event of any kind. ``data``, ``start``, ``end`` and ``tz``
    as in :func:`ga4_events`.

    Returns
    -------
    ibis.Table
        ``customer_id, campaign, channel, source, medium, first_seen, acquired_at``.

    Examples
    --------
    >>> import pandas as pd
    >>> from cohortkit import to_pandas
    >>> raw = pd.DataFrame({
    ...     "event_date": ["20240105", "20240107"], "event_name": ["session_start", "purchase"],
    ...     "event_timestamp": [1704412800000000, 1704585600000000], "user_pseudo_id": ["a", "a"],
    ...     "traffic_source": [{"source": "google", "medium": "cpc", "name": "brand"}] * 2})
    >>> to_pandas(ga4_customers(raw))[["customer_id", "campaign", "channel", "acquired_at"]]
      customer_id campaign      channel acquired_at
    0           a    brand  Paid Search  2024-01-07
    """
    t = _ga4(data, start, end)
    events = t.select(
        customer_id=ibis.coalesce(_column(t, "user_id"), t.user_pseudo_id.cast("string")),
        timestamp=_timestamp(t, tz),
        event=t.event_name.cast("string"),
        source=ibis.coalesce(
            _field(t, "traffic_source", "source"), _field(t, "collected_traffic_source", "manual_source"),
            _param(t, "source", "string"),
        ),
        medium=ibis.coalesce(
            _field(t, "traffic_source", "medium"), _field(t, "collected_traffic_source", "manual_medium"),
            _param(t, "medium", "string"),
        ),
        campaign=ibis.coalesce(
            _field(t, "traffic_source", "name"), _field(t, "collected_traffic_source", "manual_campaign_name"),
            _param(t, "campaign", "string"),
        ),
    )
    # tie-break on the event name so the choice is deterministic on every backend
    first = ibis.window(group_by=events.customer_id, order_by=[events.timestamp, events.event])
    ranked = events.mutate(__k=ibis.row_number().over(first))
    touch = ranked.filter(ranked.__k == 0).select("customer_id", "source", "medium", "campaign", first_seen="timestamp")
    purchases = events.filter(events.event == "purchase")
    acquired = purchases.group_by("customer_id").aggregate(acquired_at=purchases.timestamp.min())
    joined = acquired.join(touch, "customer_id")
    return joined.select(
        "customer_id",
        "campaign",
        channel=_channel(joined.source.cast("string"), joined.medium.cast("string")),
        source="source",
        medium="medium",
        first_seen="first_seen",
        acquired_at="acquired_at",
    ).order_by(["acquired_at", "customer_id"])


# --- ad-platform cost reports ----------------------------------------------------------------

_HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    "google_ads": {
        "date": ("Day", "Date", "日", "日付"),
        "campaign": ("Campaign", "Campaign name", "キャンペーン", "キャンペーン名"),
        "impressions": ("Impr.", "Impressions", "表示回数", "インプレッション数"),
        "clicks": ("Clicks", "クリック数"),
        "spend": ("Cost", "費用", "コスト"),
        "conversions": ("Conversions", "コンバージョン", "コンバージョン数"),
    },
    "meta": {
        "date": ("Reporting starts", "Day", "レポート開始日", "日"),
        "campaign": ("Campaign name", "キャンペーン名"),
        "impressions": ("Impressions", "インプレッション"),
        "clicks": ("Link clicks", "Clicks (all)", "リンクのクリック", "クリック(すべて)", "クリック（すべて）"),
        "spend": ("Amount spent", "消化金額"),  # followed by " (JPY)" etc.
        "conversions": ("Results", "Purchases", "結果", "購入"),
    },
}
_HEADERS["generic"] = {
    role: (role,) + tuple(dict.fromkeys(_HEADERS["google_ads"][role] + _HEADERS["meta"][role]))
    for role in _HEADERS["google_ads"]
}
_HEADERS["generic"]["spend"] += ("spend", "cost", "Spend", "Amount spent")
_DEFAULT_CHANNEL = {"google_ads": "search", "meta": "social", "generic": None}
_REQUIRED_ROLES = ("date", "campaign", "impressions", "clicks", "spend")
_TOTAL_ROW = re.compile(r"^\s*(total|合計|総計)", re.IGNORECASE)


def _normal(header: str) -> str:
    return re.sub(r"\s+", " ", str(header)).strip().lower()


def _match(header: str, candidates: tuple[str, ...]) -> bool:
    h = _normal(header)
    for cand in candidates:
        c = _normal(cand)
        # "Amount spent (JPY)" matches "Amount spent"; "Cost" must not match "Cost / conv."
        if h == c or (h.startswith(c + " (") or h.startswith(c + "（")):
            return True
    return False


def _read_report(source: Any, platform: str) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source.copy()
    if not isinstance(source, (str, Path)):
        raise DataError(
            f"report has type {type(source).__name__}; pass the path of the exported CSV or a "
            "pandas DataFrame of it."
        )
    path = Path(source)
    if not path.exists():
        raise DataError(f"cost report {str(path)!r} does not exist. Pass the path of the exported CSV or a DataFrame.")
    try:
        text = decode_text(path.read_bytes())  # UTF-8 (with or without BOM), UTF-16 with BOM, cp932
    except DataError:
        raise DataError(f"cost report {str(path)!r} is not UTF-8, UTF-16 or Shift_JIS text; re-export it as CSV.") from None
    lines = text.splitlines()

    def delimiter_of(line: str) -> str:
        return "\t" if line.count("\t") > line.count(",") else ","

    # exports often start with a title and a date-range line: find the header row
    date_names = _HEADERS["generic"]["date"]
    header_row = 0
    for i, line in enumerate(lines[:15]):
        cells = next(csv.reader([line], delimiter=delimiter_of(line)), [])
        if any(_match(c, date_names) for c in cells):
            header_row = i
            break
    delimiter = delimiter_of(lines[header_row]) if lines else ","
    return pd.read_csv(io.StringIO("\n".join(lines[header_row:])), sep=delimiter, dtype=str)


def _to_number(values: pd.Series, column: str) -> pd.Series:
    text = values.astype("str").fillna("").str.strip()
    text = text.replace({"--": "0", "-": "0", "": "0", "nan": "0", "None": "0"})
    cleaned = text.str.replace(r"[¥￥$€£,\s円]", "", regex=True).str.replace("，", "", regex=False)
    numbers = pd.to_numeric(cleaned, errors="coerce")
    bad = numbers.isna()
    if bad.any():
        example = values[bad].iloc[0]
        raise DataError(
            f"column {column!r} of the cost report must hold numbers, but {int(bad.sum())} value(s) do "
            f"not parse, e.g. {example!r}. Fix those cells or drop the rows."
        )
    return numbers.astype("float64")


def ad_costs(
    report: Any,
    *,
    platform: Literal["google_ads", "meta", "generic"] = "google_ads",
    channel: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a daily campaign report exported from an ad platform into the ``campaigns`` shape.

    Parameters
    ----------
    report : str, Path or pandas.DataFrame
        The exported CSV (UTF-8, UTF-16 or Shift_JIS; comma or tab separated; title lines above the
        header are skipped) or a DataFrame of it.
    platform : {"google_ads", "meta", "generic"}
        Whose header names to expect, English or Japanese: Google Ads ``Day, Campaign, Impr., Clicks,
        Cost, Conversions`` (``日, キャンペーン, 表示回数, クリック数, 費用, コンバージョン``); Meta
        ``Reporting starts, Campaign name, Impressions, Link clicks, Amount spent (JPY), Results``
        (``レポート開始日, キャンペーン名, インプレッション, リンクのクリック, 消化金額 (JPY), 結果``);
        ``generic`` accepts any of these and the canonical names.
    channel : str, optional
        Value of the ``channel`` column (default ``"search"`` for Google Ads, ``"social"`` for Meta;
        for ``generic`` reports the report's own ``channel`` column when it has one, else
        ``"generic"``).
    columns : mapping, optional
        Explicit header for a role, e.g. ``{"spend": "Cost (converted currency)"}``.

    Returns
    -------
    pandas.DataFrame
        ``date, campaign, channel, impressions, clicks, spend`` and ``conversions`` when the report has
        them: one row per day and campaign (rows of ad groups are summed; "Total" rows dropped).
        Currency symbols and thousands separators are removed; ``--`` counts as 0.

    Examples
    --------
    >>> import pandas as pd
    >>> report = pd.DataFrame({"日": ["2024/01/01", "2024/01/01", "合計"],
    ...                        "キャンペーン": ["ブランド検索", "一般検索", ""],
    ...                        "表示回数": ["8,000", "12,000", "20,000"], "クリック数": ["100", "90", "190"],
    ...                        "費用": ["¥12,000", "¥30,500", "¥42,500"]})
    >>> ad_costs(report, platform="google_ads")
            date campaign channel  impressions  clicks    spend
    0 2024-01-01   ブランド検索  search       8000.0   100.0  12000.0
    1 2024-01-01     一般検索  search      12000.0    90.0  30500.0
    """
    if platform not in _HEADERS:
        raise DataError(
            f"platform={platform!r} is not supported; pass one of 'google_ads', 'meta', 'generic'."
        )
    frame = _read_report(report, platform)
    mapping = _header_mapping(frame, platform, columns)
    out = _data_rows(frame, mapping)
    out["date"] = _report_dates(out["date"], mapping["date"])
    out["campaign"] = _campaign_names(out, mapping["campaign"])
    _report_numbers(out, mapping)
    out["channel"] = _report_channel(frame, out.index, platform, channel)
    metrics = [r for r in ("impressions", "clicks", "spend", "conversions") if r in out]
    result = out.groupby(["date", "campaign", "channel"], as_index=False, sort=True)[metrics].sum()
    return result[["date", "campaign", "channel", *metrics]].reset_index(drop=True)


def _header_mapping(frame: pd.DataFrame, platform: str, columns: Mapping[str, str] | None) -> dict[str, str]:
    """role → the report's header for it: the explicit ``columns``, else the platform's known names."""
    found = [str(c) for c in frame.columns]
    mapping: dict[str, str] = {}
    for role, candidates in _HEADERS[platform].items():
        if columns and role in columns:
            if columns[role] not in found:
                raise DataError(
                    f"columns[{role!r}]={columns[role]!r} is not a header of the cost report; found "
                    f"{', '.join(repr(c) for c in found)}."
                )
            mapping[role] = columns[role]
            continue
        hit = next((c for c in found if _match(c, candidates)), None)
        if hit is not None:
            mapping[role] = hit
    missing = [r for r in _REQUIRED_ROLES if r not in mapping]
    if missing:
        expected = "; ".join(
            f"{role}: " + " / ".join(repr(c) for c in _HEADERS[platform][role]) for role in missing
        )
        raise DataError(
            f"cost report headers not recognised for platform={platform!r}: missing {', '.join(missing)} "
            f"(expected {expected}); found {', '.join(repr(c) for c in found)}. Pass "
            "columns={'role': 'your header'} or platform='generic'."
        )
    return mapping


def _data_rows(frame: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    """The mapped columns, named by role, without total rows and rows without a date."""
    out = pd.DataFrame({role: frame[header] for role, header in mapping.items()})
    date_text = out["date"].astype("str").str.strip()
    total = date_text.str.match(_TOTAL_ROW) | out["date"].isna() | date_text.eq("")
    out = out[~total]
    if out.empty:
        raise DataError(
            f"the cost report has no data rows (only headers or a total row) under {mapping['date']!r}; "
            "check the export's date range and filters."
        )
    return out


def _report_dates(values: pd.Series, header: str) -> pd.Series:
    """Days parsed from the report's date column, refused when its formats are mixed or do not parse."""
    date_text = values.astype("str").str.strip()
    shapes = date_text.str.replace(r"\d+", "9", regex=True).str.replace(r"[^\W\d_]+", "A", regex=True)
    if shapes.nunique() > 1:
        first = date_text[shapes == shapes.iloc[0]].iloc[0]
        other = date_text[shapes != shapes.iloc[0]].iloc[0]
        raise DataError(
            f"column {header!r} of the cost report mixes date formats, e.g. {first!r} and "
            f"{other!r}, so a value such as '01/02/2024' is ambiguous. Re-export the report with one "
            "date format, or convert the column with pandas.to_datetime(..., format=...) first."
        )
    dates = pd.to_datetime(date_text, errors="coerce", format="mixed")
    if dates.isna().any():
        bad = values[dates.isna()].iloc[0]
        raise DataError(
            f"column {header!r} of the cost report must hold dates, but {int(dates.isna().sum())} "
            f"value(s) do not parse, e.g. {bad!r}. Fix those rows or drop them."
        )
    return dates.dt.normalize()


def _campaign_names(out: pd.DataFrame, header: str) -> pd.Series:
    """The stripped campaign names, refused when a data row has none."""
    names = out["campaign"].astype("str").str.strip()
    nameless = names.isna() | names.eq("")
    if nameless.any():
        raise DataError(
            f"column {header!r} of the cost report is empty in {int(nameless.sum())} "
            f"data row(s), e.g. the row dated {str(out['date'][nameless].iloc[0].date())!r}; their spend "
            "would belong to no campaign. Fill in the campaign names or drop those rows."
        )
    return names


def _report_numbers(out: pd.DataFrame, mapping: dict[str, str]) -> None:
    """Parse the counts and the spend in place; refuse negative ones."""
    for role in ("impressions", "clicks", "spend", "conversions"):
        if role in out:
            out[role] = _to_number(out[role], mapping[role])
    for role in ("impressions", "clicks", "conversions"):
        if role in out and (out[role] < 0).any():
            raise DataError(
                f"column {mapping[role]!r} ({role}) of the cost report has negative values, e.g. "
                f"{out[role][out[role] < 0].iloc[0]:g}; counts are never negative. Check the export."
            )
    if (out["spend"] < 0).any():
        raise DataError(
            f"column {mapping['spend']!r} (spend) has negative values; a cost report's spend is never "
            "negative. Check the export (refunds and credits belong in a separate adjustment)."
        )


def _report_channel(frame: pd.DataFrame, rows: pd.Index, platform: str, channel: str | None):
    """The ``channel`` argument; else a generic report's own channel column; else the platform's."""
    channel_header = next((str(c) for c in frame.columns if _normal(c) == "channel"), None)
    if channel is None and platform == "generic" and channel_header is not None:
        return frame.loc[rows, channel_header].astype("str").str.strip()
    return channel or _DEFAULT_CHANNEL[platform] or platform


# --- writing the GA4 export shape (test data, workshops) ----------------------------------------


def _ga4_schema():
    import pyarrow as pa

    value = pa.struct(
        [("string_value", pa.string()), ("int_value", pa.int64()), ("float_value", pa.float64()),
         ("double_value", pa.float64())]
    )
    return pa.schema(
        [
            ("event_date", pa.string()),
            ("event_timestamp", pa.int64()),
            ("event_name", pa.string()),
            ("event_params", pa.list_(pa.struct([("key", pa.string()), ("value", value)]))),
            ("user_id", pa.string()),
            ("user_pseudo_id", pa.string()),
            ("traffic_source", pa.struct([("name", pa.string()), ("medium", pa.string()), ("source", pa.string())])),
            (
                "collected_traffic_source",
                pa.struct(
                    [(f, pa.string()) for f in (
                        "manual_campaign_id", "manual_campaign_name", "manual_source", "manual_medium",
                        "manual_term", "manual_content", "gclid", "dclid", "srsltid")]
                ),
            ),
            (
                "ecommerce",
                pa.struct(
                    [("total_item_quantity", pa.int64()), ("purchase_revenue_in_usd", pa.float64()),
                     ("purchase_revenue", pa.float64()), ("unique_items", pa.int64()),
                     ("transaction_id", pa.string())]
                ),
            ),
            (
                "items",
                pa.list_(pa.struct([("item_id", pa.string()), ("item_name", pa.string()),
                                    ("price", pa.float64()), ("quantity", pa.int64())])),
            ),
        ]
    )


def to_ga4_export(
    events: pd.DataFrame,
    transactions: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    *,
    sources: Mapping[str, tuple[str, str]] | None = None,
    duplicate_every: int = 0,
):
    """Write tidy tables in the GA4 BigQuery export shape (a ``pyarrow.Table`` of nested records).

    The inverse of :func:`ga4_events` / :func:`ga4_transactions` / :func:`ga4_customers`, used to test
    them and to let workshops practise on a realistic export. ``events`` has ``user_id, timestamp,
    event``; ``transactions`` ``customer_id, date, amount`` (each becomes a ``purchase`` event with a
    transaction id, reusing a purchase event already in ``events`` at the same time); ``customers``
    ``customer_id, campaign`` gives each user's first-touch ``traffic_source`` (and the
    ``collected_traffic_source`` of their session starts). ``sources`` maps a campaign to its
    ``(source, medium)``. ``duplicate_every=k`` repeats every k-th purchase event (a page reload),
    which :func:`ga4_transactions` must de-duplicate. Users get ``user_pseudo_id`` = their id and no
    ``user_id``; ``ga_session_id`` is the epoch second of the latest ``session_start``.

    Write it with ``pyarrow.parquet.write_table(table, path)``.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({"user_id": ["C1", "C1"], "event": ["session_start", "purchase"],
    ...                        "timestamp": pd.to_datetime(["2024-01-05 10:00", "2024-01-05 10:09"])})
    >>> tx = pd.DataFrame({"customer_id": ["C1"], "date": pd.to_datetime(["2024-01-05 10:09"]),
    ...                    "amount": [30.0]})
    >>> table = to_ga4_export(events, tx)
    >>> table.num_rows, table.schema.field("ecommerce").type.num_fields
    (2, 5)
    >>> from cohortkit import to_pandas
    >>> to_pandas(ga4_transactions(table.to_pandas()))[["customer_id", "amount", "transaction_id"]]
      customer_id  amount transaction_id
    0          C1    30.0      T00000000
    """
    import pyarrow as pa

    ev = _export_events(events)
    if transactions is not None and len(transactions):
        ev = _with_transactions(ev, transactions)
    if duplicate_every:
        ev = _with_reloads(ev, duplicate_every)
    ev = ev.sort_values(["user_id", "timestamp"], kind="stable").reset_index(drop=True)
    campaign_of = {}
    if customers is not None:
        campaign_of = dict(zip(customers["customer_id"], customers["campaign"]))
    records = _export_records(ev, _ga_session_ids(ev), campaign_of, dict(sources or {}))
    return pa.Table.from_pylist(records, schema=_ga4_schema())


def _export_events(events: pd.DataFrame) -> pd.DataFrame:
    """``user_id, timestamp`` (microseconds), ``event``, and no transaction yet."""
    import numpy as np

    ev = events[["user_id", "timestamp", "event"]].copy()
    ev["timestamp"] = pd.to_datetime(ev["timestamp"]).astype("datetime64[us]")
    ev["transaction_id"] = None
    ev["revenue"] = np.nan
    return ev


def _with_transactions(ev: pd.DataFrame, transactions: pd.DataFrame) -> pd.DataFrame:
    """Number the transactions ``T00000000…`` in time order and put each on a purchase event.

    The n-th transaction of a customer at a given time goes on the n-th purchase event of that user
    at that time; a transaction without one becomes a new purchase event.
    """
    tx = transactions[["customer_id", "date", "amount"]].copy()
    tx["date"] = pd.to_datetime(tx["date"]).astype("datetime64[us]")
    tx = tx.sort_values(["date", "customer_id"], kind="stable").reset_index(drop=True)
    tx["transaction_id"] = [f"T{i:08d}" for i in range(len(tx))]
    tx["__n"] = tx.groupby(["customer_id", "date"]).cumcount()
    purchases = ev[ev["event"] == "purchase"].copy()
    purchases["__n"] = purchases.groupby(["user_id", "timestamp"]).cumcount()
    keys = purchases.reset_index().merge(
        tx, left_on=["user_id", "timestamp", "__n"], right_on=["customer_id", "date", "__n"]
    )
    ev.loc[keys["index"], "transaction_id"] = keys["transaction_id_y"].to_numpy()
    ev.loc[keys["index"], "revenue"] = keys["amount"].to_numpy()
    extra = tx[~tx["transaction_id"].isin(keys["transaction_id_y"])]
    return pd.concat(
        [ev, pd.DataFrame({"user_id": extra["customer_id"], "timestamp": extra["date"], "event": "purchase",
                           "transaction_id": extra["transaction_id"], "revenue": extra["amount"]})],
        ignore_index=True,
    )


def _with_reloads(ev: pd.DataFrame, duplicate_every: int) -> pd.DataFrame:
    """Every ``duplicate_every``-th purchase again 5 seconds later, as a page reload records it."""
    dup = ev[ev["transaction_id"].notna()].iloc[::duplicate_every].copy()
    dup["timestamp"] = dup["timestamp"] + pd.Timedelta(seconds=5)
    return pd.concat([ev, dup], ignore_index=True)


def _ga_session_ids(ev: pd.DataFrame) -> pd.Series:
    """Each event's session: each session_start opens one; its epoch second is the ga_session_id."""
    starts = ev["timestamp"].where(ev["event"] == "session_start")
    session = starts.groupby(ev["user_id"]).ffill()
    return (session.astype("int64") // 1_000_000).where(session.notna())


def _export_records(ev: pd.DataFrame, session_id: pd.Series, campaign_of: dict, sources: dict) -> list[dict]:
    """One GA4 export row per event, its traffic source the user's campaign (first touch)."""
    micros = ev["timestamp"].astype("int64").to_numpy()
    records = []
    for i, (user, name, tid, revenue) in enumerate(
        zip(ev["user_id"], ev["event"], ev["transaction_id"], ev["revenue"])
    ):
        campaign = campaign_of.get(user)
        source, medium = sources.get(campaign, ("(direct)", "(none)")) if campaign else ("(direct)", "(none)")
        is_purchase = tid is not None and not pd.isna(revenue)
        ts = pd.Timestamp(micros[i], unit="us")
        records.append(
            {
                "event_date": ts.strftime("%Y%m%d"),
                "event_timestamp": int(micros[i]),
                "event_name": name,
                "event_params": _event_params(name, session_id.iloc[i], revenue if is_purchase else None),
                "user_id": None,
                "user_pseudo_id": str(user),
                "traffic_source": {"name": campaign or "(direct)", "medium": medium, "source": source},
                "collected_traffic_source": (
                    {"manual_campaign_name": campaign, "manual_source": source, "manual_medium": medium}
                    if campaign and name == "session_start" else None
                ),
                "ecommerce": (
                    {"total_item_quantity": 1, "purchase_revenue_in_usd": None,
                     "purchase_revenue": float(revenue), "unique_items": 1, "transaction_id": tid}
                    if is_purchase else None
                ),
                "items": [],
            }
        )
    return records


def _event_params(page_title: str, session_id, revenue) -> list[dict]:
    """``page_title``, ``ga_session_id`` (when in a session) and, for a purchase, ``value``."""
    params = [_event_param("page_title", string_value=page_title)]
    if not pd.isna(session_id):
        params.append(_event_param("ga_session_id", int_value=int(session_id)))
    if revenue is not None:
        params.append(_event_param("value", double_value=float(revenue)))
    return params


def _event_param(key: str, **value) -> dict:
    """One ``event_params`` record: the given ``*_value`` set, the others null."""
    empty = {"string_value": None, "int_value": None, "float_value": None, "double_value": None}
    return {"key": key, "value": {**empty, **value}}
