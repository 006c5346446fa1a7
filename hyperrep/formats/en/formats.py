# How the admin shows dates and times (Django's format module for English): compact and
# unambiguous, so a list of conversations or sales fits a laptop screen. Times are UTC.
DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
