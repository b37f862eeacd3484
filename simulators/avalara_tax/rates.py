"""The bundled tax geography: US states and localities, VAT/GST countries, Canadian provinces.

Rates are the published standard rates (state + local for the US localities listed); they are
realistic, not authoritative, and not effective-dated. US localities are keyed by 3-digit ZIP
prefixes; any other ZIP inside a state's prefix ranges resolves to the state component only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# (jurisType, jurisCode, jurisName, rate, taxName)
Component = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class UsState:
    name: str
    fips: str
    rate: str
    zip_ranges: tuple[tuple[int, int], ...]
    lat: float
    lon: float


@dataclass(frozen=True)
class Locality:
    """A US city whose local components (county, city, special districts) are known."""

    state: str
    city: str
    county: str
    zip: str  # representative ZIP
    prefixes: tuple[str, ...]
    lat: float
    lon: float
    components: tuple[Component, ...] = field(default_factory=tuple)


def _s(name: str, fips: str, rate: str, ranges: str, lat: float, lon: float) -> UsState:
    spans = []
    for part in ranges.split(","):
        lo, _, hi = part.partition("-")
        spans.append((int(lo), int(hi or lo)))
    return UsState(name, fips, rate, tuple(spans), lat, lon)


US_STATES: dict[str, UsState] = {
    "AL": _s("ALABAMA", "01", "0.04", "350-369", 32.377, -86.300),
    "AK": _s("ALASKA", "02", "0", "995-999", 58.301, -134.420),
    "AZ": _s("ARIZONA", "04", "0.056", "850-865", 33.448, -112.097),
    "AR": _s("ARKANSAS", "05", "0.065", "716-729", 34.746, -92.289),
    "CA": _s("CALIFORNIA", "06", "0.06", "900-961", 38.576, -121.493),
    "CO": _s("COLORADO", "08", "0.029", "800-816", 39.739, -104.985),
    "CT": _s("CONNECTICUT", "09", "0.0635", "060-069", 41.764, -72.682),
    "DE": _s("DELAWARE", "10", "0", "197-199", 39.157, -75.520),
    "DC": _s("DISTRICT OF COLUMBIA", "11", "0.06", "200,202-205,569", 38.895, -77.036),
    "FL": _s("FLORIDA", "12", "0.06", "320-349", 30.438, -84.281),
    "GA": _s("GEORGIA", "13", "0.04", "300-319,398-399", 33.749, -84.388),
    "HI": _s("HAWAII", "15", "0.04", "967-968", 21.307, -157.857),
    "ID": _s("IDAHO", "16", "0.06", "832-838", 43.618, -116.215),
    "IL": _s("ILLINOIS", "17", "0.0625", "600-629", 39.798, -89.654),
    "IN": _s("INDIANA", "18", "0.07", "460-479", 39.768, -86.158),
    "IA": _s("IOWA", "19", "0.06", "500-528", 41.591, -93.604),
    "KS": _s("KANSAS", "20", "0.065", "660-679", 39.048, -95.678),
    "KY": _s("KENTUCKY", "21", "0.06", "400-427", 38.187, -84.875),
    "LA": _s("LOUISIANA", "22", "0.0445", "700-714", 30.457, -91.187),
    "ME": _s("MAINE", "23", "0.055", "039-049", 44.307, -69.782),
    "MD": _s("MARYLAND", "24", "0.06", "206-219", 38.979, -76.491),
    "MA": _s("MASSACHUSETTS", "25", "0.0625", "010-027,055", 42.358, -71.064),
    "MI": _s("MICHIGAN", "26", "0.06", "480-499", 42.733, -84.556),
    "MN": _s("MINNESOTA", "27", "0.06875", "550-567", 44.955, -93.102),
    "MS": _s("MISSISSIPPI", "28", "0.07", "386-397", 32.303, -90.182),
    "MO": _s("MISSOURI", "29", "0.04225", "630-658", 38.579, -92.173),
    "MT": _s("MONTANA", "30", "0", "590-599", 46.586, -112.018),
    "NE": _s("NEBRASKA", "31", "0.055", "680-693", 40.808, -96.700),
    "NV": _s("NEVADA", "32", "0.046", "889-898", 39.164, -119.766),
    "NH": _s("NEW HAMPSHIRE", "33", "0", "030-038", 43.207, -71.538),
    "NJ": _s("NEW JERSEY", "34", "0.06625", "070-089", 40.221, -74.770),
    "NM": _s("NEW MEXICO", "35", "0.04875", "870-884", 35.682, -105.940),
    "NY": _s("NEW YORK", "36", "0.04", "005,100-149", 42.653, -73.757),
    "NC": _s("NORTH CAROLINA", "37", "0.0475", "270-289", 35.780, -78.639),
    "ND": _s("NORTH DAKOTA", "38", "0.05", "580-588", 46.821, -100.783),
    "OH": _s("OHIO", "39", "0.0575", "430-459", 39.961, -82.999),
    "OK": _s("OKLAHOMA", "40", "0.045", "730-749", 35.492, -97.503),
    "OR": _s("OREGON", "41", "0", "970-979", 44.938, -123.030),
    "PA": _s("PENNSYLVANIA", "42", "0.06", "150-196", 40.264, -76.884),
    "RI": _s("RHODE ISLAND", "44", "0.07", "028-029", 41.831, -71.415),
    "SC": _s("SOUTH CAROLINA", "45", "0.06", "290-299", 34.000, -81.033),
    "SD": _s("SOUTH DAKOTA", "46", "0.042", "570-577", 44.367, -100.346),
    "TN": _s("TENNESSEE", "47", "0.07", "370-385", 36.166, -86.784),
    "TX": _s("TEXAS", "48", "0.0625", "750-799,885", 30.275, -97.740),
    "UT": _s("UTAH", "49", "0.0485", "840-847", 40.777, -111.888),
    "VT": _s("VERMONT", "50", "0.06", "050-054,056-059", 44.262, -72.581),
    "VA": _s("VIRGINIA", "51", "0.043", "201,220-246", 37.539, -77.434),
    "WA": _s("WASHINGTON", "53", "0.065", "980-994", 47.036, -122.905),
    "WV": _s("WEST VIRGINIA", "54", "0.06", "247-268", 38.336, -81.612),
    "WI": _s("WISCONSIN", "55", "0.05", "530-549", 43.075, -89.384),
    "WY": _s("WYOMING", "56", "0.04", "820-831", 41.140, -104.820),
}


def _l(state: str, city: str, county: str, zip5: str, prefixes: str, lat: float, lon: float,
       *components: Component) -> Locality:
    return Locality(state, city, county, zip5, tuple(prefixes.split(",")), lat, lon,
                    tuple(components))


US_LOCALITIES: tuple[Locality, ...] = (
    _l("WA", "SEATTLE", "KING", "98101", "981", 47.6062, -122.3321,
       ("CTY", "033", "KING", "0.002", "WA COUNTY TAX"),
       ("CIT", "63000", "SEATTLE", "0.0225", "WA CITY TAX"),
       ("STJ", "EMCX0", "REGIONAL TRANSIT AUTHORITY", "0.014", "WA SPECIAL TAX")),
    _l("WA", "SPOKANE", "SPOKANE", "99201", "992", 47.6588, -117.4260,
       ("CTY", "063", "SPOKANE", "0.001", "WA COUNTY TAX"),
       ("CIT", "67000", "SPOKANE", "0.013", "WA CITY TAX"),
       ("STJ", "EMPT0", "SPOKANE PUBLIC TRANSPORTATION BENEFIT AREA", "0.009",
        "WA SPECIAL TAX")),
    _l("NY", "NEW YORK", "NEW YORK", "10001", "100,101,102", 40.7506, -73.9972,
       ("CIT", "51000", "NEW YORK CITY", "0.045", "NY CITY TAX"),
       ("STJ", "359071", "METROPOLITAN COMMUTER TRANSPORTATION DISTRICT", "0.00375",
        "NY SPECIAL TAX")),
    _l("NY", "BROOKLYN", "KINGS", "11201", "112", 40.6943, -73.9903,
       ("CIT", "51000", "NEW YORK CITY", "0.045", "NY CITY TAX"),
       ("STJ", "359071", "METROPOLITAN COMMUTER TRANSPORTATION DISTRICT", "0.00375",
        "NY SPECIAL TAX")),
    _l("NY", "BUFFALO", "ERIE", "14202", "142", 42.8864, -78.8784,
       ("CTY", "029", "ERIE", "0.0475", "NY COUNTY TAX")),
    _l("CA", "LOS ANGELES", "LOS ANGELES", "90012", "900,901", 34.0522, -118.2437,
       ("CTY", "037", "LOS ANGELES", "0.0025", "CA COUNTY TAX"),
       ("STJ", "EMAR0", "LOS ANGELES CO LOCAL TAX SL", "0.01", "CA SPECIAL TAX"),
       ("STJ", "EMBE0", "LOS ANGELES COUNTY DISTRICT TAX SP", "0.0225", "CA SPECIAL TAX")),
    _l("CA", "SAN FRANCISCO", "SAN FRANCISCO", "94103", "941", 37.7749, -122.4194,
       ("CTY", "075", "SAN FRANCISCO", "0.0025", "CA COUNTY TAX"),
       ("STJ", "EMRA0", "SAN FRANCISCO CO LOCAL TAX SL", "0.01", "CA SPECIAL TAX"),
       ("STJ", "EMRB0", "SAN FRANCISCO COUNTY DISTRICT TAX SP", "0.01375", "CA SPECIAL TAX")),
    _l("CA", "IRVINE", "ORANGE", "92614", "926", 33.6846, -117.8265,
       ("CTY", "059", "ORANGE", "0.0025", "CA COUNTY TAX"),
       ("STJ", "EMTN0", "ORANGE CO LOCAL TAX SL", "0.01", "CA SPECIAL TAX"),
       ("STJ", "EMAZ0", "ORANGE COUNTY DISTRICT TAX SP", "0.005", "CA SPECIAL TAX")),
    _l("CA", "SAN DIEGO", "SAN DIEGO", "92101", "921", 32.7157, -117.1611,
       ("CTY", "073", "SAN DIEGO", "0.0025", "CA COUNTY TAX"),
       ("STJ", "EMQA0", "SAN DIEGO CO LOCAL TAX SL", "0.01", "CA SPECIAL TAX"),
       ("STJ", "EMQB0", "SAN DIEGO COUNTY DISTRICT TAX SP", "0.005", "CA SPECIAL TAX")),
    _l("TX", "HOUSTON", "HARRIS", "77002", "770", 29.7604, -95.3698,
       ("CIT", "35000", "HOUSTON", "0.01", "TX CITY TAX"),
       ("STJ", "4201000", "HOUSTON MTA TRANSIT", "0.01", "TX SPECIAL TAX")),
    _l("TX", "AUSTIN", "TRAVIS", "78701", "787", 30.2672, -97.7431,
       ("CIT", "05000", "AUSTIN", "0.01", "TX CITY TAX"),
       ("STJ", "3227994", "AUSTIN MTA TRANSIT", "0.01", "TX SPECIAL TAX")),
    _l("TX", "DALLAS", "DALLAS", "75201", "752", 32.7767, -96.7970,
       ("CIT", "19000", "DALLAS", "0.01", "TX CITY TAX"),
       ("STJ", "3057994", "DALLAS MTA TRANSIT", "0.01", "TX SPECIAL TAX")),
    _l("IL", "CHICAGO", "COOK", "60601", "606", 41.8781, -87.6298,
       ("CTY", "031", "COOK", "0.0175", "IL COUNTY TAX"),
       ("CIT", "14000", "CHICAGO", "0.0125", "IL CITY TAX"),
       ("STJ", "AQOF0", "REGIONAL TRANSPORT. AUTHORITY (RTA)", "0.01", "IL SPECIAL TAX")),
    _l("FL", "MIAMI", "MIAMI-DADE", "33130", "331", 25.7617, -80.1918,
       ("CTY", "086", "MIAMI-DADE", "0.01", "FL COUNTY TAX")),
    _l("FL", "ORLANDO", "ORANGE", "32801", "328", 28.5384, -81.3789,
       ("CTY", "095", "ORANGE", "0.005", "FL COUNTY TAX")),
    _l("OR", "PORTLAND", "MULTNOMAH", "97204", "972", 45.5152, -122.6784),
    _l("MA", "BOSTON", "SUFFOLK", "02108", "021", 42.3601, -71.0589),
    _l("CO", "DENVER", "DENVER", "80202", "802", 39.7392, -104.9903,
       ("CIT", "20000", "DENVER", "0.0481", "CO CITY TAX"),
       ("STJ", "BMCG0", "REGIONAL TRANSPORTATION DIST", "0.01", "CO SPECIAL TAX"),
       ("STJ", "BMCH0", "SCIENTIFIC AND CULTURAL FACILITIES DIST", "0.001", "CO SPECIAL TAX")),
    _l("GA", "ATLANTA", "FULTON", "30303", "303", 33.7490, -84.3880,
       ("CTY", "121", "FULTON", "0.026", "GA COUNTY TAX"),
       ("CIT", "04000", "ATLANTA", "0.015", "GA CITY TAX"),
       ("STJ", "BFMA0", "METROPOLITAN ATLANTA RAPID TRANSIT", "0.008", "GA SPECIAL TAX")),
    _l("PA", "PHILADELPHIA", "PHILADELPHIA", "19107", "191", 39.9526, -75.1652,
       ("CIT", "60000", "PHILADELPHIA", "0.02", "PA CITY TAX")),
    _l("AZ", "PHOENIX", "MARICOPA", "85004", "850", 33.4484, -112.0740,
       ("CTY", "013", "MARICOPA", "0.007", "AZ COUNTY TAX"),
       ("CIT", "55000", "PHOENIX", "0.023", "AZ CITY TAX")),
    _l("NV", "LAS VEGAS", "CLARK", "89101", "891", 36.1699, -115.1398,
       ("CTY", "003", "CLARK", "0.0378", "NV COUNTY TAX")),
    _l("NJ", "NEWARK", "ESSEX", "07102", "071", 40.7357, -74.1724),
    _l("DE", "WILMINGTON", "NEW CASTLE", "19801", "198", 39.7391, -75.5398),
)

# country → (name, standard VAT/GST rate or None, taxName, postal-code regex, lat, lon)
# EU member states carry True in EU_MEMBERS.
COUNTRIES: dict[str, tuple[str, str | None, str, str, float, float]] = {
    "US": ("UNITED STATES", None, "", r"\d{5}(-\d{4})?", 38.895, -77.036),
    "CA": ("CANADA", "0.05", "GST",
           r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d", 45.421, -75.697),
    "AT": ("AUSTRIA", "0.20", "Standard Rate", r"\d{4}", 48.208, 16.374),
    "BE": ("BELGIUM", "0.21", "Standard Rate", r"\d{4}", 50.850, 4.352),
    "BG": ("BULGARIA", "0.20", "Standard Rate", r"\d{4}", 42.698, 23.322),
    "HR": ("CROATIA", "0.25", "Standard Rate", r"\d{5}", 45.815, 15.982),
    "CY": ("CYPRUS", "0.19", "Standard Rate", r"\d{4}", 35.186, 33.382),
    "CZ": ("CZECH REPUBLIC", "0.21", "Standard Rate", r"\d{3} ?\d{2}", 50.076, 14.438),
    "DK": ("DENMARK", "0.25", "Standard Rate", r"\d{4}", 55.676, 12.568),
    "EE": ("ESTONIA", "0.24", "Standard Rate", r"\d{5}", 59.437, 24.754),
    "FI": ("FINLAND", "0.255", "Standard Rate", r"\d{5}", 60.170, 24.938),
    "FR": ("FRANCE", "0.20", "Standard Rate", r"\d{5}", 48.857, 2.352),
    "DE": ("GERMANY", "0.19", "Standard Rate", r"\d{5}", 52.520, 13.405),
    "GR": ("GREECE", "0.24", "Standard Rate", r"\d{3} ?\d{2}", 37.984, 23.728),
    "HU": ("HUNGARY", "0.27", "Standard Rate", r"\d{4}", 47.498, 19.040),
    "IE": ("IRELAND", "0.23", "Standard Rate", r"[AC-FHKNPRTV-Y]\d[\dW] ?[0-9AC-FHKNPRTV-Y]{4}",
           53.350, -6.260),
    "IT": ("ITALY", "0.22", "Standard Rate", r"\d{5}", 41.903, 12.496),
    "LV": ("LATVIA", "0.21", "Standard Rate", r"(LV-)?\d{4}", 56.950, 24.105),
    "LT": ("LITHUANIA", "0.21", "Standard Rate", r"(LT-)?\d{5}", 54.687, 25.280),
    "LU": ("LUXEMBOURG", "0.17", "Standard Rate", r"(L-)?\d{4}", 49.612, 6.130),
    "MT": ("MALTA", "0.18", "Standard Rate", r"[A-Z]{3} ?\d{4}", 35.899, 14.514),
    "NL": ("NETHERLANDS", "0.21", "Standard Rate", r"\d{4} ?[A-Z]{2}", 52.368, 4.904),
    "PL": ("POLAND", "0.23", "Standard Rate", r"\d{2}-\d{3}", 52.230, 21.012),
    "PT": ("PORTUGAL", "0.23", "Standard Rate", r"\d{4}-\d{3}", 38.722, -9.139),
    "RO": ("ROMANIA", "0.21", "Standard Rate", r"\d{6}", 44.427, 26.103),
    "SK": ("SLOVAKIA", "0.23", "Standard Rate", r"\d{3} ?\d{2}", 48.149, 17.107),
    "SI": ("SLOVENIA", "0.22", "Standard Rate", r"(SI-)?\d{4}", 46.057, 14.506),
    "ES": ("SPAIN", "0.21", "Standard Rate", r"\d{5}", 40.417, -3.704),
    "SE": ("SWEDEN", "0.25", "Standard Rate", r"\d{3} ?\d{2}", 59.329, 18.069),
    "GB": ("UNITED KINGDOM", "0.20", "Standard Rate",
           r"(GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]([0-9ABEHMNPRVWXY])?|[0-9][A-HJKPS-UW])"
           r" ?[0-9][ABD-HJLNP-UW-Z]{2})",
           51.507, -0.128),
    "CH": ("SWITZERLAND", "0.081", "Standard Rate", r"\d{4}", 46.948, 7.447),
    "NO": ("NORWAY", "0.25", "Standard Rate", r"\d{4}", 59.914, 10.752),
    "IS": ("ICELAND", "0.24", "Standard Rate", r"\d{3}", 64.147, -21.942),
    "JP": ("JAPAN", "0.10", "Consumption Tax", r"\d{3}-?\d{4}", 35.690, 139.692),
    "AU": ("AUSTRALIA", "0.10", "GST", r"\d{4}", -35.281, 149.129),
    "NZ": ("NEW ZEALAND", "0.15", "GST", r"\d{4}", -41.287, 174.776),
    "SG": ("SINGAPORE", "0.09", "GST", r"\d{6}", 1.352, 103.820),
}

EU_MEMBERS = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()  # noqa: SIM905
)

# Canadian provinces: (name, HST rate or None, provincial tax rate or None, provincial tax
# name, first letters of the postal code, lat, lon)
CA_PROVINCES: dict[str, tuple[str, str | None, str | None, str, str, float, float]] = {
    "AB": ("ALBERTA", None, None, "", "T", 51.045, -114.057),
    "BC": ("BRITISH COLUMBIA", None, "0.07", "BC PST", "V", 49.283, -123.121),
    "MB": ("MANITOBA", None, "0.07", "MB RST", "R", 49.895, -97.138),
    "NB": ("NEW BRUNSWICK", "0.15", None, "", "E", 45.964, -66.643),
    "NL": ("NEWFOUNDLAND AND LABRADOR", "0.15", None, "", "A", 47.561, -52.713),
    "NS": ("NOVA SCOTIA", "0.14", None, "", "B", 44.649, -63.575),
    "NT": ("NORTHWEST TERRITORIES", None, None, "", "X", 62.454, -114.372),
    "NU": ("NUNAVUT", None, None, "", "X", 63.747, -68.517),
    "ON": ("ONTARIO", "0.13", None, "", "KLMNP", 43.653, -79.383),
    "PE": ("PRINCE EDWARD ISLAND", "0.15", None, "", "C", 46.238, -63.131),
    "QC": ("QUEBEC", None, "0.09975", "QC QST", "GHJ", 45.502, -73.567),
    "SK": ("SASKATCHEWAN", None, "0.06", "SK PST", "S", 50.445, -104.619),
    "YT": ("YUKON", None, None, "", "Y", 60.721, -135.057),
}

# every ISO 3166-1 alpha-2 code: known countries without a bundled rate get no tax
ISO_COUNTRIES = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())  # noqa: SIM905 - a block of codes reads best

# entity/use codes that exempt a sale (AvaTax's standard customer usage types)
ENTITY_USE_CODES = {
    "A": "Federal government", "B": "State government", "C": "Tribe / status Indian / Indian band",
    "D": "Foreign diplomat", "E": "Charitable or benevolent organization",
    "F": "Religious organization", "G": "Resale", "H": "Commercial agricultural production",
    "I": "Industrial production / manufacturer", "J": "Direct pay permit", "K": "Direct mail",
    "L": "Other", "M": "Educational organization", "N": "Local government",
    "P": "Commercial aquaculture", "Q": "Commercial fishery", "R": "Non-resident",
}
