"""The ``tenants`` registry: one row per tenant, the public key domain of tenants."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.generator.learners import STATES, LearnerModel
from jobs.generator.pii import CITIES
from jobs.generator.randomness import Salt, index_below, pick

DISTRICT_KINDS = (
    "Unified School District",
    "Public Schools",
    "Independent School District",
    "County Schools",
    "Academy Network",
)
# Learners enrol at most 700 days before the window (see learners_table), so a tenant
# joining 701+ days before it predates every one of its learners.
EARLIEST_ENROLMENT_LOOKBACK_DAYS = 700
JOINED_SPREAD_DAYS = 3 * 365


def tenants_table(spark: SparkSession, model: LearnerModel) -> DataFrame:
    """The raw ``tenants`` table: every tenant of the layout, joined before its learners."""
    config = model.config
    tenant = F.col("id").cast("int")  # the type of LearnerModel.tenant_index: same hash
    name = F.concat_ws(
        " ",
        pick(model.draw(Salt.TENANT_NAME, tenant), CITIES),
        pick(model.draw(Salt.TENANT_KIND, tenant), DISTRICT_KINDS),
    )
    days_before = (
        F.lit(EARLIEST_ENROLMENT_LOOKBACK_DAYS + 1)
        + index_below(model.draw(Salt.TENANT_JOINED, tenant), JOINED_SPREAD_DAYS)
    ).cast("int")
    return spark.range(0, model.layout.tenant_count, 1).select(
        model.tenant_id(tenant).alias("tenant_id"),
        name.alias("name"),
        pick(model.draw(Salt.TENANT_STATE, tenant), STATES).alias("state_province"),
        F.date_sub(F.lit(config.start), days_before).alias("joined_on"),
    )
