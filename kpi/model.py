"""The standard data model: one table per kind of record, declared once.

Loading and validation (:mod:`kpi.readers`, :mod:`kpi.checks`, :mod:`kpi.load`), the synthetic generator (:mod:`kpi.synth`) and
the documentation (``docs/data-model.md``, written by :func:`markdown`) all read these
declarations, so they cannot drift apart.

Code lists follow the statutory returns where one exists (CIN census for referral sources,
primary need, closure reasons and categories of abuse; SSDA903 for legal status, placement
types, episode reasons and care leavers' activity and accommodation), so a council's own
extract maps onto them without translation.
"""

from __future__ import annotations

from dataclasses import dataclass

# Column types, and the DuckDB type each is stored as.
TYPES = {
    "id": "VARCHAR",
    "str": "VARCHAR",
    "code": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    meaning: str
    required: bool = True
    codes: dict[str, str] | None = None
    ref: str | None = None  # "table.column" this value must exist in
    min: float | None = None
    max: float | None = None
    # Event dates cannot lie after the extract date; due dates and planned dates may.
    future_ok: bool = False

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")
        if (self.type == "code") != (self.codes is not None):
            raise ValueError(f"column {self.name}: code columns, and only they, carry codes")


@dataclass(frozen=True)
class Table:
    name: str
    meaning: str
    columns: tuple[Column, ...]
    key: str | None = None  # unique id column
    # a table without an id: the columns whose values together are one row's (a population cell), never repeated
    natural_key: tuple[str, ...] = ()
    # (earlier, later): when both are present, later must not be before earlier
    date_order: tuple[tuple[str, str], ...] = ()
    group: str = ""

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def unique(self) -> tuple[str, ...]:
        """The column(s) no two rows share: the key, else the natural key (none: ())."""
        return (self.key,) if self.key else self.natural_key

    @property
    def parents(self) -> set[str]:
        return {c.ref.split(".")[0] for c in self.columns if c.ref and c.ref.split(".")[0] != self.name}

    def __post_init__(self):
        names = self.column_names
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate column names")
        if self.key is not None and self.key not in names:
            raise ValueError(f"table {self.name}: key {self.key} is not a column")
        if self.key is not None and self.natural_key:
            raise ValueError(f"table {self.name}: a key or a natural key, not both")
        for n in self.natural_key:
            self.column(n)
        for a, b in self.date_order:
            for n in (a, b):
                if self.column(n).type not in ("date", "datetime"):
                    raise ValueError(f"table {self.name}: {n} in date_order is not a date")


# ---------------------------------------------------------------------------------------------
# Code lists
# ---------------------------------------------------------------------------------------------

SEX = {"M": "Male", "F": "Female", "U": "Not known or not stated"}

ETHNICITY = {
    "WBRI": "White British",
    "WIRI": "White Irish",
    "WIRT": "Traveller of Irish heritage",
    "WOTH": "Any other White background",
    "WROM": "Gypsy/Roma",
    "MWBC": "White and Black Caribbean",
    "MWBA": "White and Black African",
    "MWAS": "White and Asian",
    "MOTH": "Any other mixed background",
    "AIND": "Indian",
    "APKN": "Pakistani",
    "ABAN": "Bangladeshi",
    "AOTH": "Any other Asian background",
    "BCRB": "Black Caribbean",
    "BAFR": "Black African",
    "BOTH": "Any other Black background",
    "CHNE": "Chinese",
    "OOTH": "Any other ethnic group",
    "REFU": "Refused",
    "NOBT": "Information not yet obtained",
}

# CIN census referral source codes
REFERRAL_SOURCE = {
    "1A": "Individual: family member, relative or carer",
    "1B": "Individual: acquaintance",
    "1C": "Individual: self",
    "1D": "Individual: other",
    "2A": "Schools",
    "2B": "Education services",
    "3A": "Health: GP",
    "3B": "Health: health visitor",
    "3C": "Health: school nurse",
    "3D": "Health: other primary health services",
    "3E": "Health: A&E",
    "3F": "Health: other",
    "4": "Housing",
    "5A": "Local authority services: social care",
    "5B": "Local authority services: other internal department",
    "5C": "Local authority services: external",
    "5D": "Early help",
    "6": "Police",
    "7": "Other legal agency",
    "8": "Other",
    "9": "Anonymous",
    "10": "Unknown",
}

# CIN census primary need codes
PRIMARY_NEED = {
    "N1": "Abuse or neglect",
    "N2": "Child's disability",
    "N3": "Parental disability or illness",
    "N4": "Family in acute stress",
    "N5": "Family dysfunction",
    "N6": "Socially unacceptable behaviour",
    "N7": "Low income",
    "N8": "Absent parenting",
    "N9": "Cases other than children in need",
    "N0": "Not stated",
}

# CIN census reason for closure
CLOSURE_REASON = {
    "RC1": "Adopted",
    "RC2": "Died",
    "RC3": "Child arrangements order",
    "RC4": "Special guardianship order",
    "RC5": "Transferred to services of another local authority",
    "RC6": "Transferred to adult social care services",
    "RC7": "Services ceased for any other reason, including child no longer in need",
    "RC8": "Case closed after assessment, no further action",
    "RC9": "Case closed after assessment, referred to early help",
}

CONTACT_OUTCOME = {
    "REF": "Referral to children's social care",
    "EH": "Passed to early help",
    "IA": "Information and advice",
    "NFA": "No further action",
}

RAG = {
    "RED": "Red: immediate risk, act within 4 hours",
    "AMBER": "Amber: act within 24 hours",
    "GREEN": "Green: act within 72 hours",
}

ASSESSMENT_TYPE = {"INITIAL": "Assessment following a referral", "REVIEW": "Updated needs assessment of an open case"}

ASSESSMENT_OUTCOME = {
    "CLOSE": "Case to close (including step down to early help)",
    "CIN": "Child in need plan",
    "S47": "Strategy discussion / section 47 enquiry",
    "CLA": "Child to become looked after",
    "CONT": "Continue current plan (updated assessment)",
}

S47_OUTCOME = {"ICPC": "Initial child protection conference", "CIN": "Child in need plan", "NFA": "No further action"}

STRATEGY_OUTCOME = {"S47": "Section 47 enquiry", "NFA": "No further action under section 47"}

CP_CATEGORY = {
    "NEG": "Neglect",
    "PHY": "Physical abuse",
    "EMO": "Emotional abuse",
    "SAB": "Sexual abuse",
    "MUL": "Multiple",
}

# SSDA903 legal status
LEGAL_STATUS = {
    "C1": "Interim care order",
    "C2": "Full care order",
    "D1": "Freeing order granted",
    "E1": "Placement order granted",
    "J1": "Remanded to local authority accommodation or youth detention accommodation",
    "J2": "Placed in local authority accommodation under PACE",
    "J3": "Sentenced to youth rehabilitation order with residence or intensive fostering requirement",
    "L1": "Under police protection and in local authority accommodation",
    "L2": "Emergency protection order",
    "L3": "Under child assessment order and in local authority accommodation",
    "V2": "Single period of accommodation under section 20",
    "V3": "Accommodated under an agreed series of short-term breaks (individual episodes)",
    "V4": "Accommodated under an agreed series of short-term breaks (continuous period)",
}

# SSDA903 reason for new episode
REASON_NEW_EPISODE = {
    "S": "Started to be looked after",
    "L": "Change of legal status only",
    "P": "Change of placement only",
    "T": "Change of placement and legal status",
    "B": "Change of placement and legal status (before 2016)",
    "U": "Change of legal status and placement at the same time",
}

# SSDA903 placement type (PLACE)
PLACEMENT_TYPE = {
    "A3": "Placed for adoption with parental consent, with current foster carer",
    "A4": "Placed for adoption with parental consent, not with current foster carer",
    "A5": "Placed for adoption with placement order, with current foster carer",
    "A6": "Placed for adoption with placement order, not with current foster carer",
    "H5": "Semi-independent living accommodation not subject to children's homes regulations",
    "K1": "Secure children's home",
    "K2": "Children's home subject to children's homes regulations",
    "P1": "Placed with own parent(s) or other person(s) with parental responsibility",
    "P2": "Independent living, e.g. flat, lodgings, bedsit, B&B or with friends",
    "P3": "Residential employment",
    "R1": "Residential care home",
    "R2": "NHS/health trust or other establishment providing medical or nursing care",
    "R3": "Family centre or mother and baby unit",
    "R5": "Young offender institution or prison",
    "S1": "All residential schools, except where dual-registered as a school and children's home",
    "T0": "Temporary placement (all types)",
    "T1": "Temporary periods in hospital",
    "T2": "Temporary absence of the child on holiday",
    "T3": "Temporary accommodation whilst normal foster carer is on holiday",
    "T4": "Temporary accommodation of seven days or less, for any reason not covered by T1-T3",
    "U1": "Foster placement with relative or friend: long-term fostering",
    "U2": "Foster placement with relative or friend who is also an approved adopter (FFA/concurrent)",
    "U3": "Foster placement with relative or friend: not long-term or FFA/concurrent",
    "U4": "Foster placement with other foster carer: long-term fostering",
    "U5": "Foster placement with other foster carer who is also an approved adopter (FFA/concurrent)",
    "U6": "Foster placement with other foster carer: not long-term or FFA/concurrent",
    "Z1": "Other placements",
}
# Settings counted as "residential care" (assumption A6 in docs/assumptions.md)
RESIDENTIAL_PLACEMENTS = ("K1", "K2", "R1", "S1")

PLACEMENT_PROVIDER = {
    "PR0": "Parent(s) or other person(s) with parental responsibility",
    "PR1": "Own provision (by the local authority)",
    "PR2": "Other local authority provision",
    "PR3": "Other public provision (e.g. by a primary care trust)",
    "PR4": "Private provision",
    "PR5": "Voluntary/third sector provision",
}

# SSDA903 reason episode ceased (REC)
REASON_EPISODE_CEASED = {
    "E11": "Adopted: application unopposed",
    "E12": "Adopted: consent dispensed with",
    "E13": "Left care to live with parent(s) or relative(s)",
    "E14": "Accommodation on remand ended",
    "E15": "Age assessment determined child aged 18 or over",
    "E16": "Child moved abroad",
    "E17": "Aged 18 (or over) and remained with current carers (staying put)",
    "E2": "Died",
    "E3": "Care taken by another local authority",
    "E41": "Residence order (or child arrangement order) granted",
    "E45": "Special guardianship order made to former foster carer(s)",
    "E46": "Special guardianship order made to carer(s) other than former foster carer(s)",
    "E47": "Special guardianship order made to former foster carers who were relatives or friends",
    "E48": "Special guardianship order made to carers, other than former foster carers, who were relatives or friends",
    "E4A": "Returned home to live with parent(s), relative(s) or other person(s) with parental responsibility as part of the care planning process",
    "E4B": "Returned home to live with parent(s), relative(s) or other person(s) with parental responsibility not as part of the care planning process",
    "E5": "Moved into independent living arrangement and no longer looked after: supportive accommodation",
    "E6": "Moved into independent living arrangement and no longer looked after: without formalised support",
    "E7": "Transferred to residential care funded by adult social care services",
    "E8": "Period of being looked after ceased for any other reason",
    "E9": "Sentenced to custody",
    "X1": "Episode ceases, and new episode begins on same day, for any reason",
}

CARE_LEAVER_STATUS = {
    "RELEVANT": "Relevant child (aged 16-17, left care after 13 weeks' care since 14)",
    "FORMER": "Former relevant child (aged 18-25)",
    "QUALIFYING": "Qualifying care leaver",
}

# SSDA903 OC3 in touch
IN_TOUCH = {
    "YES": "In touch",
    "NO": "Not in touch",
    "DIED": "Died",
    "REFU": "Refused contact",
    "NREQ": "No longer requires services",
    "RHOM": "Returned home to parents for more than 6 months",
}

# SSDA903 OC3 activity
ACTIVITY = {
    "F1": "Full time in higher education",
    "P1": "Part time in higher education",
    "F2": "Full time in education other than higher education",
    "P2": "Part time in education other than higher education",
    "F4": "Full time in training or employment",
    "P4": "Part time in training or employment",
    "F5": "Full time in apprenticeship",
    "P5": "Part time in apprenticeship",
    "G4": "Not in education, training or employment: illness or disability",
    "G5": "Not in education, training or employment: other reasons",
    "G6": "Not in education, training or employment: pregnancy or parenting",
}
EET_ACTIVITIES = ("F1", "P1", "F2", "P2", "F4", "P4", "F5", "P5")

# SSDA903 OC3 accommodation type (suitability is a separate column)
ACCOMMODATION = {
    "B": "With parents or relatives",
    "C": "Community home or other form of residential care",
    "D": "Semi-independent, transitional accommodation",
    "E": "Supported lodgings",
    "G": "Gone abroad",
    "H": "Deported",
    "K": "Ordinary lodgings, without formal support",
    "R": "Residence not known",
    "S": "No fixed abode / homeless",
    "T": "Foyers and similar supported accommodation",
    "U": "Independent living",
    "V": "Emergency accommodation",
    "W": "Bed and breakfast",
    "X": "In custody",
    "Y": "Other accommodation",
    "Z": "With former foster carers",
}

HEALTH_ASSESSMENT_TYPE = {"IHA": "Initial health assessment", "RHA": "Review health assessment"}

PLAN_TYPE = {"CIN": "Child in need plan", "CP": "Child protection plan", "CLA": "Child in care", "CL": "Care leaver"}

# SSDA903 Missing: MISSING
ABSENCE = {"M": "Missing", "A": "Away from placement without authorisation"}

EDUCATION_PROVISION = {
    "FTE": "Full-time registered education",
    "PTT": "Part-time timetable",
    "EHE": "Elective home education",
    "CME": "Child missing education",
}

TEAM_SERVICE = {
    "FRONT_DOOR": "Front door / MASH",
    "ASSESSMENT": "Assessment",
    "FAMILY_SAFEGUARDING": "Child in need and child protection",
    "CHILDREN_IN_CARE": "Children in care",
    "LEAVING_CARE": "Care experienced / leaving care",
    "EARLY_HELP": "Targeted early help",
    "QUALITY_ASSURANCE": "Quality assurance and reviewing",
}

STAFF_ROLE = {
    "SW": "Social worker",
    "ASW": "Advanced / senior social worker",
    "TM": "Team manager",
    "SM": "Service manager",
    "PA": "Personal adviser",
    "FIT": "Early help family intervention worker",
    "IRO": "Independent reviewing officer",
}

EMPLOYMENT = {"PERM": "Permanent", "AGENCY": "Agency"}

AUDIT_GRADE = {"OUT": "Outstanding", "GOOD": "Good", "RI": "Requires improvement", "INAD": "Inadequate"}
# The pillars of practice an audit grades (seed 003's "Seven Pillars of Practice": it names Purposeful Visits,
# Voice of the Child and Management Oversight; the other four are assumed, A155).
PRACTICE_PILLAR = {
    "VISITS": "Purposeful visits",
    "VOICE": "Voice of the child",
    "ASSESS": "Assessment",
    "PLAN": "Planning",
    "FAMILY": "Working restoratively with the family and its network",
    "PARTNERS": "Working with partners",
    "OVERSIGHT": "Management oversight",
}


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


def _c(name, type_, meaning, **kw) -> Column:
    return Column(name, type_, meaning, **kw)


def _child(required: bool = True) -> Column:
    return _c("child_id", "id", "The child (children.child_id)", ref="children.child_id", required=required)


def _team(required: bool = True) -> Column:
    return _c("team_id", "id", "Responsible team (teams.team_id)", ref="teams.team_id", required=required)


TABLES: tuple[Table, ...] = (
    Table(
        "localities",
        "The authority's localities (areas), used for every breakdown by area.",
        (
            _c("locality_id", "id", "Locality code"),
            _c("name", "str", "Locality name"),
        ),
        key="locality_id",
        group="Reference",
    ),
    Table(
        "teams",
        "Teams of the service.",
        (
            _c("team_id", "id", "Team code"),
            _c("name", "str", "Team name"),
            _c("service", "code", "Kind of team", codes=TEAM_SERVICE),
            _c(
                "locality_id",
                "id",
                "Locality the team serves (empty for county-wide teams)",
                ref="localities.locality_id",
                required=False,
            ),
            _c("frontline", "bool", "Front-line case-holding social work team"),
        ),
        key="team_id",
        group="Reference",
    ),
    Table(
        "population",
        "Mid-year estimate of the 0-17 population, by year, locality, single year of age and sex.",
        (
            _c("year", "int", "Calendar year of the mid-year estimate", min=1990, max=2100),
            _c("locality_id", "id", "Locality", ref="localities.locality_id"),
            _c("age", "int", "Age in whole years", min=0, max=17),
            _c("sex", "code", "Sex", codes={"M": "Male", "F": "Female"}),
            _c("count", "int", "Number of children", min=0),
        ),
        natural_key=("year", "locality_id", "age", "sex"),
        group="Reference",
    ),
    Table(
        "children",
        "One row per child known to the service.",
        (
            _c("child_id", "id", "Child identifier (personal data: never reported)"),
            _c("family_id", "id", "Family / household identifier"),
            _c("date_of_birth", "date", "Date of birth (personal data: never reported)"),
            _c("sex", "code", "Sex", codes=SEX),
            _c("ethnicity", "code", "Ethnicity (CIN census codes)", codes=ETHNICITY),
            _c("disability", "bool", "Child has a disability"),
            _c("locality_id", "id", "Locality of the child's home address", ref="localities.locality_id"),
        ),
        key="child_id",
        group="Children",
    ),
    Table(
        "contacts",
        "Contacts to the front door: every request for a service about a child.",
        (
            _c("contact_id", "id", "Contact identifier"),
            _child(),
            _c("contact_at", "datetime", "Date and time the contact was received"),
            _c("source", "code", "Who made the contact (CIN census referral source)", codes=REFERRAL_SOURCE),
            _c("screening_rag", "code", "Screening RAG rating", codes=RAG, required=False),
            _c("completed_at", "datetime", "Date and time the contact decision was completed", required=False),
            _c("outcome", "code", "Contact outcome", codes=CONTACT_OUTCOME, required=False),
        ),
        key="contact_id",
        date_order=(("contact_at", "completed_at"),),
        group="Front door",
    ),
    Table(
        "early_help_episodes",
        "Targeted early help episodes: a family allocated to a worker.",
        (
            _c("episode_id", "id", "Early help episode identifier"),
            _child(),
            _c("family_id", "id", "Family worked with"),
            _team(),
            _c("start_date", "date", "Date allocated"),
            _c("end_date", "date", "Date closed", required=False),
        ),
        key="episode_id",
        date_order=(("start_date", "end_date"),),
        group="Front door",
    ),
    Table(
        "referrals",
        "Referrals to children's social care; each opens a child in need episode.",
        (
            _c("referral_id", "id", "Referral identifier"),
            _child(),
            _c("contact_id", "id", "Contact the referral came from", ref="contacts.contact_id", required=False),
            _c("referral_date", "date", "Date of referral"),
            _c("source", "code", "Referral source", codes=REFERRAL_SOURCE),
            _c("primary_need", "code", "Primary need", codes=PRIMARY_NEED),
            _c("homeless", "bool", "Young person presenting as homeless"),
            _team(),
            _c("locality_id", "id", "Locality", ref="localities.locality_id"),
            _c("closure_date", "date", "Date the child in need episode closed", required=False),
            _c("closure_reason", "code", "Reason for closure", codes=CLOSURE_REASON, required=False),
        ),
        key="referral_id",
        date_order=(("referral_date", "closure_date"),),
        group="Child in need",
    ),
    Table(
        "assessments",
        "Child and family assessments.",
        (
            _c("assessment_id", "id", "Assessment identifier"),
            _child(),
            _c("referral_id", "id", "Referral / episode", ref="referrals.referral_id"),
            _c("assessment_type", "code", "Assessment type", codes=ASSESSMENT_TYPE),
            _c("start_date", "date", "Assessment start date"),
            _c("authorised_date", "date", "Date the assessment was authorised (completed)", required=False),
            _c("outcome", "code", "Outcome", codes=ASSESSMENT_OUTCOME, required=False),
            _team(),
            _c(
                "seen_alone",
                "bool",
                "The child was seen alone by the social worker during the assessment",
                required=False,
            ),
        ),
        key="assessment_id",
        date_order=(("start_date", "authorised_date"),),
        group="Child in need",
    ),
    Table(
        "strategy_discussions",
        "Strategy discussions (meetings) under section 47.",
        (
            _c("strategy_id", "id", "Strategy discussion identifier"),
            _child(),
            _c("referral_id", "id", "Referral / episode", ref="referrals.referral_id"),
            _c("decision_date", "date", "Date of the decision to hold a strategy discussion"),
            _c("held_date", "date", "Date the strategy discussion was held", required=False),
            _c("outcome", "code", "Outcome", codes=STRATEGY_OUTCOME, required=False),
        ),
        key="strategy_id",
        date_order=(("decision_date", "held_date"),),
        group="Child protection",
    ),
    Table(
        "s47_enquiries",
        "Section 47 enquiries.",
        (
            _c("s47_id", "id", "Enquiry identifier"),
            _child(),
            _c("referral_id", "id", "Referral / episode", ref="referrals.referral_id"),
            _c("strategy_id", "id", "Strategy discussion that started it", ref="strategy_discussions.strategy_id"),
            _c("start_date", "date", "Enquiry start date"),
            _c("end_date", "date", "Enquiry end date", required=False),
            _c("outcome", "code", "Outcome", codes=S47_OUTCOME, required=False),
            _team(),
        ),
        key="s47_id",
        date_order=(("start_date", "end_date"),),
        group="Child protection",
    ),
    Table(
        "icpcs",
        "Initial child protection conferences.",
        (
            _c("icpc_id", "id", "Conference identifier"),
            _child(),
            _c("s47_id", "id", "Section 47 enquiry", ref="s47_enquiries.s47_id"),
            _c("conference_date", "date", "Date of the conference"),
            _c("plan_made", "bool", "A child protection plan was made"),
        ),
        key="icpc_id",
        group="Child protection",
    ),
    Table(
        "cin_plans",
        "Child in need plans.",
        (
            _c("cin_plan_id", "id", "Plan identifier"),
            _child(),
            _c("referral_id", "id", "Referral / episode", ref="referrals.referral_id"),
            _c("start_date", "date", "Plan start"),
            _c("end_date", "date", "Plan end", required=False),
            _team(),
        ),
        key="cin_plan_id",
        date_order=(("start_date", "end_date"),),
        group="Child in need",
    ),
    Table(
        "cp_plans",
        "Child protection plans.",
        (
            _c("cp_plan_id", "id", "Plan identifier"),
            _child(),
            _c("referral_id", "id", "Referral / episode", ref="referrals.referral_id"),
            _c("icpc_id", "id", "Conference that made the plan", ref="icpcs.icpc_id", required=False),
            _c("start_date", "date", "Plan start"),
            _c("end_date", "date", "Plan end", required=False),
            _c("category", "code", "Initial category of abuse", codes=CP_CATEGORY),
            _c(
                "assessment_team_id",
                "id",
                "Assessment team that brought the child to conference",
                ref="teams.team_id",
                required=False,
            ),
            _team(),
        ),
        key="cp_plan_id",
        date_order=(("start_date", "end_date"),),
        group="Child protection",
    ),
    Table(
        "care_episodes",
        "Episodes of care in the SSDA903 sense: a new row at each change of legal status or placement.",
        (
            _c("episode_id", "id", "Episode identifier"),
            _child(),
            _c("period_id", "id", "Period of care the episode belongs to (one per admission)"),
            _c("start_date", "date", "Episode start (DECOM)"),
            _c("end_date", "date", "Episode end (DEC)", required=False),
            _c("reason_new_episode", "code", "Reason for new episode (RNE)", codes=REASON_NEW_EPISODE),
            _c("legal_status", "code", "Legal status (LS)", codes=LEGAL_STATUS),
            _c("placement_type", "code", "Placement type (PLACE)", codes=PLACEMENT_TYPE),
            _c("placement_provider", "code", "Placement provider", codes=PLACEMENT_PROVIDER),
            _c("reason_ceased", "code", "Reason episode ceased (REC)", codes=REASON_EPISODE_CEASED, required=False),
            _c(
                "distance_miles", "float", "Straight-line distance from home to placement, miles", min=0, required=False
            ),
            _c("in_area", "bool", "Placement inside the authority's area"),
            _c("registered", "bool", "Placement is registered (false: unregistered accommodation)"),
            _team(),
        ),
        key="episode_id",
        date_order=(("start_date", "end_date"),),
        group="Children in care",
    ),
    Table(
        "permanence_plans",
        "Permanence plans agreed for children in care.",
        (
            _c("plan_id", "id", "Plan identifier"),
            _child(),
            _c("agreed_date", "date", "Date the permanence plan was agreed"),
        ),
        key="plan_id",
        group="Children in care",
    ),
    Table(
        "health_assessments",
        "Initial and review health assessments of children in care.",
        (
            _c("health_assessment_id", "id", "Identifier"),
            _child(),
            _c("assessment_type", "code", "Initial or review", codes=HEALTH_ASSESSMENT_TYPE),
            _c("due_date", "date", "Date due", future_ok=True),
            _c("completed_date", "date", "Date completed", required=False),
        ),
        key="health_assessment_id",
        group="Children in care",
    ),
    Table(
        "dental_checks",
        "Dental checks of children in care.",
        (
            _c("dental_check_id", "id", "Identifier"),
            _child(),
            _c("check_date", "date", "Date of the check"),
        ),
        key="dental_check_id",
        group="Children in care",
    ),
    Table(
        "sdq_scores",
        "Strengths and Difficulties Questionnaire scores.",
        (
            _c("sdq_id", "id", "Identifier"),
            _child(),
            _c("sdq_date", "date", "Date of the questionnaire"),
            _c("score", "int", "Total difficulties score (0-40)", min=0, max=40),
        ),
        key="sdq_id",
        group="Children in care",
    ),
    Table(
        "visits",
        "Statutory visits to children, due and done, by the plan they are due under.",
        (
            _c("visit_id", "id", "Identifier"),
            _child(),
            _c("plan_type", "code", "Plan the visit is due under", codes=PLAN_TYPE),
            _c("due_date", "date", "Date the visit is due", future_ok=True),
            _c("visit_date", "date", "Date the child was seen", required=False),
        ),
        key="visit_id",
        group="Impact",
    ),
    Table(
        "reviews",
        "Statutory reviews of a child's plan, due and held: child in need plan reviews, child protection review "
        "conferences, looked after reviews and care leavers' pathway plan reviews (plan type CL).",
        (
            _c("review_id", "id", "Identifier"),
            _child(),
            _c("plan_type", "code", "Plan reviewed", codes=PLAN_TYPE),
            _c("due_date", "date", "Date the review is due", future_ok=True),
            _c("review_date", "date", "Date the review was held", required=False),
        ),
        key="review_id",
        group="Impact",
    ),
    Table(
        "core_groups",
        "Core group meetings of a child protection plan.",
        (
            _c("core_group_id", "id", "Identifier"),
            _child(),
            _c("cp_plan_id", "id", "Child protection plan", ref="cp_plans.cp_plan_id"),
            _c("meeting_date", "date", "Date the core group met"),
        ),
        key="core_group_id",
        group="Child protection",
    ),
    Table(
        "school_moves",
        "Changes of school of children in care.",
        (
            _c("move_id", "id", "Identifier"),
            _child(),
            _c("move_date", "date", "Date the child started at the new school"),
            _c(
                "transitional",
                "bool",
                "A move at a normal point of transition (into primary, primary to secondary, into sixth form)",
            ),
        ),
        key="move_id",
        group="Children in care",
    ),
    Table(
        "missing_episodes",
        "Episodes of a child in care missing or away from placement without authorisation (SSDA903 Missing).",
        (
            _c("missing_id", "id", "Identifier"),
            _child(),
            _c("absence", "code", "Missing or away without authorisation", codes=ABSENCE),
            _c("start_date", "date", "Start of the episode"),
            _c("end_date", "date", "Return", required=False),
        ),
        key="missing_id",
        date_order=(("start_date", "end_date"),),
        group="Children in care",
    ),
    Table(
        "care_leavers",
        "Care experienced young people eligible for leaving care services.",
        (
            _child(),
            _c("status", "code", "Eligibility", codes=CARE_LEAVER_STATUS),
            _c("left_care_date", "date", "Date the young person left care"),
            _c("service_end_date", "date", "Date leaving care services ended", required=False),
        ),
        key="child_id",
        date_order=(("left_care_date", "service_end_date"),),
        group="Care leavers",
    ),
    Table(
        "care_leaver_contacts",
        "Contacts with care leavers (the in-touch record) and their situation at each.",
        (
            _c("contact_id", "id", "Identifier"),
            _c("child_id", "id", "Care leaver", ref="care_leavers.child_id"),
            _c("contact_date", "date", "Date of the contact"),
            _c("in_touch", "code", "In touch (SSDA903 OC3)", codes=IN_TOUCH),
            _c("activity", "code", "Main activity (SSDA903 OC3)", codes=ACTIVITY, required=False),
            _c("accommodation", "code", "Accommodation type (SSDA903 OC3)", codes=ACCOMMODATION, required=False),
            _c("suitable", "bool", "Accommodation is suitable", required=False),
        ),
        key="contact_id",
        group="Care leavers",
    ),
    Table(
        "education_provision",
        "Education provision of children known to social care, when not simply full-time.",
        (
            _c("provision_id", "id", "Identifier"),
            _child(),
            _c("provision", "code", "Provision", codes=EDUCATION_PROVISION),
            _c("start_date", "date", "From"),
            _c("end_date", "date", "To", required=False),
        ),
        key="provision_id",
        date_order=(("start_date", "end_date"),),
        group="Impact",
    ),
    Table(
        "staff",
        "Staff in post, permanent and agency, with their start and end.",
        (
            _c("staff_id", "id", "Staff identifier"),
            _c("role", "code", "Role", codes=STAFF_ROLE),
            _team(),
            _c("employment", "code", "Permanent or agency", codes=EMPLOYMENT),
            _c("fte", "float", "Full-time equivalent", min=0, max=1),
            _c(
                "newly_qualified",
                "bool",
                "Joined as a newly qualified (ASYE) social worker; the ASYE year is the 12 months from start_date",
            ),
            _c(
                "overseas",
                "bool",
                "Joined from overseas (an overseas social worker, OSSW); the first year is the 12 months from "
                "start_date (empty: not recorded, counted as not)",
                required=False,
            ),
            _c("start_date", "date", "Start in post"),
            _c("end_date", "date", "End in post", required=False),
        ),
        key="staff_id",
        date_order=(("start_date", "end_date"),),
        group="Workforce",
    ),
    Table(
        "establishment",
        "Budgeted posts (the establishment) of one role in one team for one month, as HR or finance holds them.",
        (
            _c("budget_month", "date", "The month the budget is for, as its first day (2026-10-01)", future_ok=True),
            _team(),
            _c("role", "code", "Role of the posts", codes=STAFF_ROLE),
            _c("fte", "float", "Full-time equivalent of the budgeted posts, filled or vacant", min=0),
        ),
        natural_key=("budget_month", "team_id", "role"),
        group="Workforce",
    ),
    Table(
        "case_allocations",
        "Allocation of a child's case to a worker.",
        (
            _c("allocation_id", "id", "Identifier"),
            _child(),
            _c("staff_id", "id", "Allocated worker", ref="staff.staff_id"),
            _c("start_date", "date", "Allocated from"),
            _c("end_date", "date", "Allocated to", required=False),
        ),
        key="allocation_id",
        date_order=(("start_date", "end_date"),),
        group="Workforce",
    ),
    Table(
        "supervisions",
        "Case supervision (management oversight) of each child's case: due and done.",
        (
            _c("supervision_id", "id", "Identifier"),
            _child(),
            _c("staff_id", "id", "Worker holding the case when supervision was due", ref="staff.staff_id"),
            _c("due_date", "date", "Date supervision of this case is due", future_ok=True),
            _c("supervision_date", "date", "Date supervision was recorded", required=False),
        ),
        key="supervision_id",
        group="Workforce",
    ),
    Table(
        "audits",
        "Case audits: assigned to a manager, completed, graded and moderated.",
        (
            _c("audit_id", "id", "Identifier"),
            _child(),
            _c("auditor_id", "id", "Auditor", ref="staff.staff_id"),
            _c("assigned_date", "date", "Date the audit was assigned"),
            _c("completed_date", "date", "Date the audit was completed", required=False),
            _c("grade", "code", "Auditor's grade", codes=AUDIT_GRADE, required=False),
            _c(
                "moderated_grade",
                "code",
                "Grade after moderation by quality assurance",
                codes=AUDIT_GRADE,
                required=False,
            ),
            _c(
                "family_feedback",
                "bool",
                "Feedback from the child's family was obtained for the audit",
                required=False,
            ),
        ),
        key="audit_id",
        date_order=(("assigned_date", "completed_date"),),
        group="Audit",
    ),
    Table(
        "audit_pillars",
        "The grade an audit gives one pillar of practice (after moderation).",
        (
            _c("audit_id", "id", "Audit", ref="audits.audit_id"),
            _c("pillar", "code", "Pillar of practice", codes=PRACTICE_PILLAR),
            _c("grade", "code", "Grade of the pillar", codes=AUDIT_GRADE),
        ),
        natural_key=("audit_id", "pillar"),
        group="Audit",
    ),
)

TABLE_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}


def table(name: str) -> Table:
    try:
        return TABLE_BY_NAME[name]
    except KeyError:
        raise KeyError(f"no table {name!r} in the data model") from None


def load_order() -> list[Table]:
    """Tables ordered so that every table comes after the tables it refers to."""
    done: list[str] = []
    pending = list(TABLES)
    while pending:
        progressed = False
        for t in list(pending):
            if t.parents <= set(done):
                done.append(t.name)
                pending.remove(t)
                progressed = True
        if not progressed:
            raise ValueError(f"circular references among {[t.name for t in pending]}")
    return [TABLE_BY_NAME[n] for n in done]


def _check_refs():
    for t in TABLES:
        for c in t.columns:
            if c.ref:
                tn, cn = c.ref.split(".")
                parent = table(tn)
                if parent.key != cn:
                    raise ValueError(f"{t.name}.{c.name} refers to {c.ref}, which is not a key")


_check_refs()


def markdown() -> str:
    """The data model as Markdown: written to docs/data-model.md (a test keeps it in step)."""
    out = [
        "# The standard data model",
        "",
        "Generated from `kpi/model.py` by `kpi docs`; do not edit by hand (a test checks it is in step).",
        "",
        "One file per table, CSV or Parquet, named after the table (`referrals.csv`). Dates are `YYYY-MM-DD`",
        "(`DD/MM/YYYY` is also read, day and month of one or two digits), with no time or a midnight one",
        "(`2024-01-05 00:00:00`, `05/01/2024 00:00`); date-times `YYYY-MM-DD HH:MM[:SS[.fff]]` (or `T` for",
        "the space; `DD/MM/YYYY HH:MM[:SS]`; a date alone is its midnight), without a time zone. Whole numbers",
        "are digits with an optional sign (`5.0` is read as 5; `5.5`, `1e2`, `0x1F`, `1_000`, `1,000` are not",
        "whole numbers); numbers are decimal, with an optional exponent (`1.5`, `-2`, `2.5e3`; not `inf`, `nan`,",
        "`1,5`). Booleans are `Y`/`N`, also `YES`/`NO`, `TRUE`/`FALSE`, `T`/`F`, `1`/`0`, in any case.",
        "Empty means not recorded; a required column may not be empty. Identifiers and codes are text, as",
        "written (`007` is not `7`). Spaces and no-break spaces around a value are not part of it, nor tabs",
        "around a number or date; other characters are.",
        "",
        "Checks on load: every column present; values of the right type, in range and in the code list;",
        "identifiers unique; references resolve to a loaded row; paired dates in order; event dates not after",
        "the extract date (due dates may be).",
        "",
    ]
    groups: dict[str, list[Table]] = {}
    for t in TABLES:
        groups.setdefault(t.group, []).append(t)
    out.append("| group | table | what one row is |")
    out.append("|---|---|---|")
    for g, ts in groups.items():
        for t in ts:
            out.append(f"| {g} | [`{t.name}`](#{t.name}) | {t.meaning} |")
    out.append("")
    for t in TABLES:
        out += [f"## {t.name}", "", t.meaning, ""]
        if t.key:
            out.append(f"Unique key: `{t.key}`.")
        if t.natural_key:
            out.append("Unique together: " + ", ".join(f"`{n}`" for n in t.natural_key) + " (one row each).")
        if t.date_order:
            out.append("Dates in order: " + "; ".join(f"`{a}` <= `{b}`" for a, b in t.date_order) + ".")
        out += ["", "| column | type | required | allowed values | meaning |", "|---|---|---|---|---|"]
        for c in t.columns:
            allowed = ""
            if c.codes:
                allowed = "<br>".join(f"`{k}` {v}" for k, v in c.codes.items())
            elif c.ref:
                allowed = f"a `{c.ref}`"
            elif c.min is not None or c.max is not None:
                lo = "" if c.min is None else f"{c.min:g}"
                hi = "" if c.max is None else f"{c.max:g}"
                allowed = f"{lo} to {hi}".strip()
            req = "yes" if c.required else "no"
            out.append(f"| `{c.name}` | {c.type} | {req} | {allowed} | {c.meaning} |")
        out.append("")
    return "\n".join(out)
