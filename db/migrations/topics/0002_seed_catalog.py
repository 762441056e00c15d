"""Seed the topic catalog: real conversation topics from CEFR A2 to C1.

The data is frozen here (not imported from application code) so this migration means the same
thing forever. Inserting skips slugs that already exist, so a catalog an admin already edited is
left as it is; the reverse removes only the seeded slugs that no learner has chosen.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

# (slug, title, level_min, level_max, description, coach instructions)
CATALOG = [
    (
        "small-talk",
        "Small talk with someone new",
        "A2", "B1",
        "Introduce yourself, ask friendly questions and keep a light conversation going.",
        "Play a friendly stranger the learner meets at a party or a train station. Start with a "
        "greeting and ask simple open questions about where they are from, work or study and "
        "hobbies. Model follow-up questions ('Oh really? How long have you...?') and encourage "
        "the learner to ask you questions back. Keep sentences short and clear.",
    ),
    (
        "daily-routine",
        "Your day and your free time",
        "A2", "A2",
        "Talk about what you do every day, your weekends and the things you enjoy.",
        "Ask the learner to describe a normal weekday from morning to evening, then their "
        "weekend. Practise the present simple, frequency adverbs (always, usually, sometimes) "
        "and time expressions. Ask one question at a time and speak slowly.",
    ),
    (
        "ordering-food",
        "Ordering at a café or restaurant",
        "A2", "B1",
        "Order food and drinks, ask about the menu and pay the bill.",
        "Play a waiter in a busy café. Greet the learner, offer a table, describe two or three "
        "specials and take their order. Introduce one small problem (an item is sold out, or "
        "the bill is wrong) and let the learner solve it politely with 'Could I...?' and "
        "'Would it be possible...?'.",
    ),
    (
        "travel-directions",
        "Travel: hotels, tickets and directions",
        "A2", "B1",
        "Check in at a hotel, buy a ticket and ask for and follow directions.",
        "Play a hotel receptionist, then a local the learner stops in the street. Let the "
        "learner check in, ask about breakfast and Wi-Fi, then ask the way to a museum. Use "
        "prepositions of place and direction (next to, opposite, turn left). Ask the learner to "
        "repeat the directions back to you.",
    ),
    (
        "shopping-returns",
        "Shopping and returning an item",
        "A2", "B1",
        "Ask for sizes and prices, and take back something that does not work.",
        "Play a shop assistant. First help the learner find a product, size and colour, then "
        "switch to a return: the item they bought last week is broken. Have the learner explain "
        "the problem, say when they bought it and ask for a refund or an exchange.",
    ),
    (
        "telling-a-story",
        "Telling a story from your past",
        "B1", "B2",
        "Describe a memorable trip, event or mistake and keep your listener interested.",
        "Ask the learner to tell you about a memorable experience. Prompt with when, where, who "
        "and what happened next. Encourage the past simple and past continuous together ('I was "
        "walking home when...') and sequencing words (first, then, in the end). React like an "
        "interested friend and ask how they felt.",
    ),
    (
        "doctor-visit",
        "At the doctor's",
        "B1", "B2",
        "Describe symptoms, answer a doctor's questions and understand advice.",
        "Play a general practitioner. Ask what brings the learner in, how long they have had "
        "the symptoms and how bad they are. Practise the present perfect ('I've had a headache "
        "for three days'), body vocabulary and understanding advice (you should, try to avoid). "
        "Do not give real medical advice beyond the role-play.",
    ),
    (
        "renting-a-flat",
        "Renting a flat",
        "B1", "B2",
        "Call a landlord about a flat: rent, bills, the contract and a viewing.",
        "Play a landlord answering a phone call about a flat advertised online. Let the learner "
        "ask about rent, deposit, bills, the neighbourhood and pets, and arrange a viewing time. "
        "Encourage indirect questions ('Could you tell me whether...?') and confirming details.",
    ),
    (
        "customer-service-call",
        "Solving a problem with customer service",
        "B1", "B2",
        "Explain a problem with an order or a bill and get it fixed on the phone.",
        "Play a customer-service agent for an internet provider. The learner's connection has "
        "been down for two days, or they were charged twice. Ask for details, follow a polite "
        "script, and offer an imperfect solution so the learner must negotiate a better one. "
        "Practise complaining firmly but politely.",
    ),
    (
        "job-interview",
        "Job interview",
        "B1", "C1",
        "Answer common interview questions about your experience, strengths and goals.",
        "Play an interviewer for a role the learner names at the start (ask them). Ask classic "
        "questions: tell me about yourself, a challenge you solved, strengths and weaknesses, "
        "why this company. Push for concrete examples (the STAR pattern). Adjust difficulty to "
        "the learner's level: simpler questions for B1, follow-up probing for C1.",
    ),
    (
        "business-meeting",
        "Taking part in a business meeting",
        "B2", "C1",
        "Give updates, agree and disagree politely and agree on next steps.",
        "Run a short project meeting as the chair. Ask the learner for a status update, raise a "
        "concern about a deadline and invite them to propose a solution. Practise polite "
        "disagreement ('I see your point, but...'), interrupting politely and summarising "
        "action items at the end.",
    ),
    (
        "workplace-feedback",
        "Giving and receiving feedback at work",
        "B2", "C1",
        "Give a colleague constructive feedback and respond to criticism professionally.",
        "Play a colleague. First the learner gives you feedback on a report you wrote late, then "
        "you give them feedback on a presentation. Practise softening language (I wonder if, "
        "it might be worth), specific examples and responding without being defensive.",
    ),
    (
        "negotiation",
        "Negotiating a deal or a salary",
        "B2", "C1",
        "Make an offer, push back, find a compromise and close the deal.",
        "Play the other side of a negotiation the learner chooses: a salary offer or a supplier "
        "contract. Start with an offer below what the learner wants, resist their first "
        "counter-offer, and make them justify it. Practise conditionals ('If you could..., we "
        "would...'), hedging and summarising the agreement.",
    ),
    (
        "presenting-an-idea",
        "Presenting an idea and handling questions",
        "B2", "C1",
        "Pitch an idea in two minutes, then answer tough questions about it.",
        "Ask the learner to pitch a product, project or change they care about in about two "
        "minutes without interrupting. Then ask three challenging questions about cost, risk "
        "and evidence. Practise signposting (first of all, moving on to), emphasis and "
        "buying time ('That's a good question, let me think').",
    ),
    (
        "current-events",
        "Discussing the news",
        "B2", "C1",
        "Summarise a news story you read and give your opinion on it.",
        "Ask the learner to summarise a recent news story that interested them, then discuss "
        "causes, consequences and their opinion. Introduce a contrasting view to respond to. "
        "Practise reporting verbs (claim, suggest, deny), opinion phrases and speculation "
        "(it could lead to). Avoid taking political sides yourself.",
    ),
    (
        "technology-debate",
        "Debate: technology and society",
        "C1", "C1",
        "Argue for or against a statement about technology, and respond to counter-arguments.",
        "Give the learner a statement such as 'Remote work does more harm than good' or 'AI "
        "will create more jobs than it destroys'. Let them choose a side, then argue the other "
        "side well. Push for nuance, concession ('Admittedly..., yet...'), precise vocabulary "
        "and idiomatic expressions. Keep the exchange fast and natural.",
    ),
]


async def seed(apps, schema_editor):
    client = schema_editor.client
    topic = apps.get_model("topics", "Topic")
    existing = {t.slug for t in await topic.all().using_db(client)}
    rows = [
        topic(
            slug=slug, title=title, description=description, level_min=level_min,
            level_max=level_max, instructions=instructions, active=True,
        )
        for slug, title, level_min, level_max, description, instructions in CATALOG
        if slug not in existing
    ]
    if rows:
        await topic.bulk_create(rows, using_db=client)


async def unseed(apps, schema_editor):
    client = schema_editor.client
    topic = apps.get_model("topics", "Topic")
    user_topic = apps.get_model("topics", "UserTopic")
    chosen = await user_topic.all().using_db(client).values_list("topic_id", flat=True)
    slugs = [row[0] for row in CATALOG]
    await topic.filter(slug__in=slugs).exclude(id__in=list(chosen)).using_db(client).delete()


class Migration(migrations.Migration):
    dependencies = [("topics", "0001_initial")]

    operations = [ops.RunPython(seed, unseed)]
