-- Chronology completeness for the reviews being prepared: per review and agency, whether the
-- agency was asked and whether its chronology is in (audit.review_readiness). No counts of
-- children and no evidence text: the board sees statuses and dates the review itself set.
select
    review_id,
    agency,
    asked,
    status,
    status_label,
    scope_start,
    scope_end,
    deadline
from {{ ref('review_readiness') }}
