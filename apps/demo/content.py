"""What the demo organization's people say: names, the trade's topics, and the lines of
emails, texts, calls, live chats and web forms. Plain data, picked by apps/demo/seed.py."""

from typing import NamedTuple

FIRST = [
    "Ava",
    "Ben",
    "Carla",
    "Diego",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
]
LAST = [
    "Adams",
    "Brooks",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ivanova",
    "Jensen",
    "Khan",
    "Lopez",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Patel",
    "Rossi",
    "Silva",
]
TRADES = [
    "Roofing",
    "Plumbing",
    "Landscaping",
    "Dental",
    "Bakery",
    "Auto Repair",
    "Fitness",
    "Cleaning",
    "Electric",
    "Catering",
    "Law Office",
    "Realty",
]
STREETS = ["Main Street", "Oak Avenue", "Maple Drive", "Cedar Lane", "Elm Street", "Hill Road"]
ROLES = ["Owner", "Office Manager", "Purchasing", "Operations", "Founder", None]

# (folder slug, weight): most threads stay in the inbox.
FOLDERS = [
    ("inbox", 60),
    ("sales-follow-up", 15),
    ("quotes", 10),
    ("warranty-claims", 5),
    ("archived", 10),
]


class Product(NamedTuple):
    name: str
    unit_price: int  # whole dollars; the quote renders two-place strings


PRODUCTS = [
    Product("Asphalt shingle roof replacement (per square)", 450),
    Product("Metal roof panels (per square)", 980),
    Product("Roof inspection with drone photos", 250),
    Product("Seamless gutter installation (per 10 ft)", 120),
    Product("Gutter guards (per 10 ft)", 85),
    Product("Skylight installation", 1350),
    Product("Ridge vent replacement", 600),
    Product("Emergency leak repair", 395),
    Product("Chimney flashing repair", 540),
    Product("Attic insulation top-up (per 100 sq ft)", 175),
]


class Topic(NamedTuple):
    subject: str
    service: str  # what a web form's "service" field says
    opening: str  # the contact's first email
    question: str  # a shorter text / chat opener


TOPICS = [
    Topic(
        "Quote request for a roof replacement",
        "Roof replacement",
        "Hi,\n\nOur roof is about 22 years old and we are starting to lose shingles after every "
        "storm. Could you come out and give us a quote for a full replacement? We are flexible "
        "on material, but would like to understand the difference between asphalt and metal."
        "\n\nThanks,\n{first}",
        "Hi, do you do full roof replacements? Ours is 22 years old.",
    ),
    Topic(
        "Leak in the kitchen ceiling",
        "Leak repair",
        "Hello,\n\nAfter last night's rain there is a brown stain spreading on our kitchen "
        "ceiling and it is dripping near the light fixture. Is there any chance someone can "
        "take a look this week?\n\n{first}",
        "We have a leak in the kitchen ceiling after the rain, can someone come by?",
    ),
    Topic(
        "Gutters before the fall",
        "Gutter installation",
        "Hi there,\n\nThe gutters on the north side of the house are sagging and overflow "
        "whenever it rains. I'd like a price for new seamless gutters, and maybe guards so we "
        "stop cleaning leaves out twice a year.\n\nBest,\n{first}",
        "How much for new gutters on a two-story house?",
    ),
    Topic(
        "Storm damage inspection",
        "Storm damage inspection",
        "Good morning,\n\nThe hail on Saturday dented our vents and I can see a few shingles "
        "in the yard. Our insurance adjuster asked for a contractor's inspection report. Do "
        "you provide those, and how soon could you come?\n\nRegards,\n{first}",
        "Do you do storm damage inspections for insurance?",
    ),
    Topic(
        "Skylight for the upstairs hallway",
        "Skylight installation",
        "Hi,\n\nWe would love more light in our upstairs hallway and are thinking about a "
        "skylight. Is that something you install, and what would it roughly cost?\n\n{first}",
        "Do you install skylights? Looking at one for a hallway.",
    ),
    Topic(
        "Question about invoice",
        "Billing question",
        "Hello,\n\nI received the invoice for the repair last month and the total is higher "
        "than the estimate we agreed on. Could you walk me through the difference?\n\n"
        "Thank you,\n{first}",
        "Quick question about my invoice, the total looks higher than the estimate.",
    ),
    Topic(
        "Warranty claim on last year's work",
        "Warranty claim",
        "Hi,\n\nYou replaced our roof last spring and now there is a small leak around the "
        "chimney. I believe this is covered by the workmanship warranty. When can someone "
        "check it?\n\n{first}",
        "Our new roof is leaking around the chimney, is that under warranty?",
    ),
    Topic(
        "Commercial flat roof maintenance",
        "Commercial maintenance plan",
        "Hello,\n\nI manage a small office building with a flat roof (about 6,000 sq ft). We "
        "are looking for a contractor for twice-yearly maintenance and inspections. Could you "
        "send information about your maintenance plans?\n\nBest regards,\n{first}",
        "Do you offer maintenance plans for commercial flat roofs?",
    ),
]

EMAIL_REPLIES = [
    "Hi {first},\n\nThanks for reaching out! I'd be glad to help. We have openings on "
    "{day} morning or afternoon for an on-site visit; which works better for you?\n\n"
    "Best,\n{agent}",
    "Hi {first},\n\nThank you for the details. Based on what you describe I'd recommend an "
    "inspection first so we can quote accurately. It takes about 45 minutes and there's no "
    "charge. Would {day} work?\n\n{agent}",
    "Hi {first},\n\nAs promised, here is your quote. You can review and accept it online: "
    "{link}\n\nLet me know if you have any questions.\n\nBest regards,\n{agent}",
    "Hi {first},\n\nJust following up on the quote I sent last week. Happy to go over the "
    "options on a quick call if that helps. You can also see photos of similar projects "
    "here: {link}\n\n{agent}",
    "Hi {first},\n\nGreat news: the crew is scheduled for {day}. They will arrive between 7 "
    "and 8 am and should be done by mid-afternoon. Please make sure the driveway is clear."
    "\n\nThanks,\n{agent}",
    "Hi {first},\n\nI checked with our office and you're right, the invoice included a "
    "line for disposal that should have been part of the estimate. I've issued a corrected "
    "invoice.\n\nApologies for the confusion,\n{agent}",
]
EMAIL_FOLLOW_UPS = [
    "Thanks {agent}, {day} afternoon works for us. Someone will be home after 1 pm.\n\n{first}",
    "Thank you for the quote. Is there any flexibility on the price if we also do the "
    "gutters at the same time?\n\n{first}",
    "Got it, thanks. Could you also send a copy of your license and insurance certificate? "
    "Our HOA asks for them.\n\n{first}",
    "We've decided to go ahead. What do you need from us to get on the schedule?\n\n{first}",
    "Thanks for the quick answer. We'll talk it over this weekend and get back to you.\n\n{first}",
    "Perfect, see you then.\n\n{first}",
]
OUTBOUND_EMAILS = [
    (
        "Your spring roof check-up",
        "Hi {first},\n\nIt's been a year since we worked on your roof, and spring is a good "
        "time for a quick check-up before the storm season. Book a free 30-minute inspection "
        "here: {link}\n\nBest,\n{agent}",
    ),
    (
        "Following up on your inquiry",
        "Hi {first},\n\nYou asked about our services a while ago and I wanted to see whether "
        "you're still planning the project. I'm happy to stop by for a free estimate.\n\n"
        "{agent}",
    ),
    (
        "Storm season is coming",
        "Hi {first},\n\nHeavy storms are forecast for the next weeks. If you noticed missing "
        "shingles or stains on a ceiling, we can prioritize an inspection. Reply to this email "
        "or schedule online: {link}\n\n{agent}",
    ),
]

TEXT_RECEIVED = [
    "Are you guys available {day}?",
    "Ok sounds good",
    "Can you send the quote by email?",
    "Running 10 minutes late, sorry!",
    "What time will the crew arrive?",
    "Thanks! Got it.",
    "Is there a discount if we pay upfront?",
    "Yes please book it",
    "The gate code is 4412",
    "Can we move it to next week? Something came up.",
]
TEXT_SENT = [
    "Hi {first}, this is {agent} from the roofing team. Yes, we have {day} open. Morning or "
    "afternoon?",
    "Sure thing, sending it over now.",
    "You're all set for {day}. The crew arrives between 7 and 8 am.",
    "No problem at all, thanks for letting us know.",
    "Reminder: inspection tomorrow at 10 am. Reply C to confirm or R to reschedule.",
    "Here's the link to review your quote: {link}",
    "Moved you to next week, same time. See you then!",
    "Thanks {first}! Let us know if anything else comes up.",
]

CHAT_VISITOR = [
    "Hi, is anyone there?",
    "{question}",
    "How soon could you come out?",
    "We're in the Springfield area, do you cover that?",
    "Roughly how much would that cost?",
    "Ok, can I book an inspection here?",
    "My email is the one on file.",
    "Great, thank you!",
]
CHAT_AGENT = [
    "Hi there! This is {agent}. How can I help today?",
    "Yes, we cover Springfield and the surrounding towns.",
    "It depends on the size of the roof, but most jobs like that are between $400 and $1,200.",
    "We usually have an opening within 3 to 5 business days.",
    "Absolutely, I just booked you for {day}. You'll get a confirmation by email.",
    "Anything else I can help with?",
    "Thanks for chatting with us, have a great day!",
]

CALL_TRANSCRIPTS = [
    "{agent}: Thanks for calling, this is {agent}. How can I help?\n"
    "{first}: Hi, I got your number from a neighbor. We have a leak over the garage.\n"
    "{agent}: Sorry to hear that. Is it dripping now or just a stain?\n"
    "{first}: Just a stain for now, but it's getting bigger.\n"
    "{agent}: Let's get someone out there. I have {day} at 9 am, does that work?\n"
    "{first}: That works. Thank you!",
    "{agent}: Hi {first}, it's {agent} calling about the quote we sent.\n"
    "{first}: Oh hi, yes, we looked at it. It's a bit more than we budgeted.\n"
    "{agent}: Understood. We could phase it: the front slope now and the back next spring.\n"
    "{first}: That could work. Can you send both numbers?\n"
    "{agent}: I'll email you a revised quote this afternoon.",
    "{first}: Hi, I'm calling to confirm the crew is still coming {day}?\n"
    "{agent}: Yes, you're on the schedule, they'll be there between 7 and 8.\n"
    "{first}: Great, we'll leave the side gate open.",
    "Voicemail from {first}: Hi, this is {first}, I'm calling about a roof estimate. Please "
    "call me back when you get a chance. Thanks.",
]
AGENT_PLACED_CALLS = frozenset({1})  # the others were placed by the contact
VOICEMAIL = 3
CALL_SUMMARIES = [
    "Call about a leak; inspection booked.",
    "Discussed the quote; customer asked for a phased option.",
    "Customer confirmed the crew visit.",
    "Voicemail: wants an estimate, call back.",
]

FORM_MESSAGES = [
    "We'd like an estimate as soon as possible.",
    "Please call after 5 pm on weekdays.",
    "The house is a two-story colonial, roughly 2,400 sq ft.",
    "",
]
LINK_PATHS = ["quotes/review", "book-inspection", "gallery/recent-projects", "financing"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

# A custom stage of the pipeline has a label and no status.
CUSTOM_STAGES = ["Site visit scheduled", "Negotiating", "Awaiting financing"]
