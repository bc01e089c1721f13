"""Word lists for a fictional borough: street, building, ward and personal names.

Names are drawn per ethnic group so that people records look like a London borough's, which
matters for linkage (name variants) and for the equality-monitoring fields the extracts carry.
"""

BOROUGH = "Eastbrook"

WARDS = [
    "Abbey Mead", "Alder Park", "Barley Fields", "Becton Vale", "Chadwell Rise", "Church Elm",
    "Dagnam Marsh", "Eastfield", "Gascoyne", "Goresbrook", "Heath Lane", "Kingsley",
    "Longbridge", "Mayesbrook", "Northbury", "Parsloes", "River Reach", "Thames View",
    "Valence", "Village Green", "Whalebone", "Wyvern", "Yeoman Hill", "Zenith Park",
]

STREET_STEMS = [
    "Ash", "Birch", "Cedar", "Elm", "Hazel", "Holly", "Larch", "Maple", "Oak", "Poplar", "Rowan",
    "Willow", "Alder", "Beech", "Chestnut", "Cypress", "Hawthorn", "Juniper", "Laurel", "Linden",
    "Myrtle", "Pine", "Spruce", "Sycamore", "Yew", "Acorn", "Bramble", "Clover", "Daisy", "Fern",
    "Heather", "Ivy", "Lavender", "Meadow", "Orchard", "Primrose", "Thistle", "Violet", "Abbey",
    "Albion", "Arden", "Ashford", "Barton", "Bedford", "Belmont", "Beverley", "Bradley", "Brook",
    "Cambridge", "Canterbury", "Carlton", "Chester", "Clarence", "Clifton", "Coleridge", "Cromwell",
    "Dalton", "Denmark", "Devon", "Dorset", "Dudley", "Durham", "Eastbury", "Eldon", "Essex",
    "Fairfax", "Falmouth", "Fenwick", "Gladstone", "Glebe", "Gordon", "Grafton", "Granville",
    "Hamilton", "Harcourt", "Harrow", "Hastings", "Hereford", "Hobart", "Howard", "Kendal", "Kent",
    "Kingston", "Lancaster", "Lansdowne", "Leicester", "Lincoln", "Lonsdale", "Ludlow", "Malvern",
    "Manor", "Marlborough", "Melbourne", "Milton", "Montague", "Newbury", "Norfolk", "Norman",
    "Oxford", "Palmerston", "Pelham", "Percy", "Portland", "Priory", "Queens", "Radnor", "Raleigh",
    "Regent", "Richmond", "Ripon", "Rochester", "Rutland", "Salisbury", "Sandringham", "Selwyn",
    "Seymour", "Shelley", "Sheridan", "Somerset", "Stanley", "Stratford", "Suffolk", "Sutton",
    "Talbot", "Tennyson", "Thornton", "Trafalgar", "Tudor", "Upton", "Vicarage", "Victoria",
    "Walpole", "Warwick", "Waverley", "Wellington", "Westbury", "Whitby", "Windsor", "Winton",
    "York", "Ainslie", "Blaydon", "Corbett", "Dunmore", "Everard", "Fortune", "Gainsford",
]
STREET_TYPES = [
    "Road", "Street", "Grove", "Avenue", "Close", "Gardens", "Way", "Lane", "Drive", "Crescent",
    "Place", "Terrace", "Walk", "Mews", "Park", "Rise",
]
STREET_ABBREVIATIONS = {
    "Road": "Rd", "Street": "St", "Avenue": "Ave", "Gardens": "Gdns", "Close": "Cl",
    "Drive": "Dr", "Crescent": "Cres", "Place": "Pl", "Terrace": "Ter", "Lane": "Ln",
}
BUILDING_TYPES = ["House", "Court", "Lodge", "Point", "Tower", "Heights"]

# ONS 5 high-level ethnic groups, as equality-monitoring forms record them.
ETHNIC_GROUPS = ["White", "Asian", "Black", "Mixed", "Other"]

FIRST_NAMES = {
    ("White", "F"): ["Amelia", "Olivia", "Emily", "Jessica", "Sophie", "Charlotte", "Hannah", "Lauren",
                     "Chloe", "Megan", "Rebecca", "Laura", "Sarah", "Gemma", "Kelly", "Joanne",
                     "Anna", "Agnieszka", "Ioana", "Maria", "Ellie", "Grace", "Lucy", "Katie"],
    ("White", "M"): ["Oliver", "Jack", "Harry", "George", "Thomas", "James", "Daniel", "Matthew",
                     "Ryan", "Luke", "Adam", "Lee", "Craig", "Darren", "Paul", "Mark", "Piotr",
                     "Andrei", "Tomasz", "Liam", "Connor", "Joe", "Sam", "Ben"],
    ("Asian", "F"): ["Aisha", "Fatima", "Priya", "Anjali", "Sana", "Nadia", "Ayesha", "Zara",
                     "Shabnam", "Ruksana", "Amina", "Farida", "Meera", "Kiran", "Sunita", "Nusrat"],
    ("Asian", "M"): ["Mohammed", "Ahmed", "Ali", "Hassan", "Imran", "Rahul", "Arjun", "Sanjay",
                     "Abdul", "Rizwan", "Tariq", "Kamal", "Vikram", "Harpreet", "Rafiq", "Omar"],
    ("Black", "F"): ["Abena", "Ama", "Chioma", "Ngozi", "Funmilayo", "Adaeze", "Keisha", "Tanisha",
                     "Shanice", "Precious", "Blessing", "Grace", "Faith", "Mercy", "Hodan", "Amina"],
    ("Black", "M"): ["Kwame", "Kofi", "Chinedu", "Emeka", "Oluwaseun", "Tunde", "Jerome", "Marcus",
                     "Tyrone", "Andre", "Samuel", "Daniel", "Emmanuel", "Abdi", "Mohamed", "Joseph"],
    ("Mixed", "F"): ["Jade", "Leah", "Maya", "Tia", "Jasmine", "Layla", "Nia", "Chantelle"],
    ("Mixed", "M"): ["Jordan", "Tyler", "Kai", "Jayden", "Reece", "Nathan", "Aaron", "Malik"],
    ("Other", "F"): ["Mariam", "Leila", "Yasmin", "Mei", "Lin", "Elena", "Noor", "Rosa"],
    ("Other", "M"): ["Karim", "Yusuf", "Wei", "Jun", "Carlos", "Mehmet", "Hamid", "Diego"],
}
SURNAMES = {
    "White": ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
              "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green",
              "Hall", "Wood", "Jackson", "Clarke", "Kowalski", "Nowak", "Popescu", "Murphy",
              "O'Brien", "Kelly", "Harris", "Lewis", "Turner", "Cooper"],
    "Asian": ["Khan", "Ahmed", "Ali", "Hussain", "Patel", "Begum", "Rahman", "Islam", "Singh",
              "Kaur", "Shah", "Miah", "Uddin", "Iqbal", "Chowdhury", "Sharma", "Akhtar", "Malik"],
    "Black": ["Okafor", "Mensah", "Adeyemi", "Owusu", "Boateng", "Okonkwo", "Williams", "Campbell",
              "Brown", "Johnson", "Asante", "Adebayo", "Mohamed", "Osei", "Nwosu", "Grant"],
    "Mixed": ["Campbell", "Williams", "Thomas", "Edwards", "Brown", "Walker", "James", "Clarke"],
    "Other": ["Yilmaz", "Chen", "Wang", "Silva", "Ahmadi", "Hosseini", "Rodriguez", "Kaya",
              "Nguyen", "Li", "Santos", "Haddad"],
}
