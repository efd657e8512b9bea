"""Name, nickname and postcode material for synthetic people. Invented, not sampled from real data."""

from __future__ import annotations

GIRLS = """Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Willow Freya Florence
Emily Ella Poppy Evie Elsie Charlotte Evelyn Sienna Sofia Daisy Phoebe Sophie Alice Harper Matilda
Ruby Emilia Maya Millie Isabelle Eva Luna Jessica Hallie Arabella Layla Esme Chloe Bonnie Maisie
Eliza Aria Imogen Erin Mila Penelope Molly Ellie Thea Violet Zara Lucy Holly Scarlett Hannah Amber
Orla Beatrice Georgia Lola Nancy Harriet Robyn Martha Ada Kayla Aisha Amira Fatima Maryam Zainab
Niamh Siobhan Aoife Chantelle Jade Kelsey Leah Megan Rebecca Natalie Stacey Danielle Gemma Kirsty
Zoë Chloé Renée Noémie""".split()

BOYS = """Noah Oliver George Arthur Muhammad Leo Harry Oscar Archie Henry Theodore Freddie Jack
Charlie Theo Alfie Jacob Thomas Finley Arlo William Lucas Roman Tommy Isaac Teddy Alexander Luca
Edward James Joshua Albie Elijah Max Mohammed Reggie Hudson Louie Sonny Rory Jaxon Ezra Harrison
Daniel Hunter Jude Ronnie Mason Frankie Grayson Benjamin Samuel Joseph Ethan Reuben Zachary Dylan
Ryan Kai Callum Liam Connor Kyle Jordan Bradley Jamie Nathan Ashley Lewis Ibrahim Yusuf Ali Omar
Hamza Adam Ciaran Declan Sean Kieran Michael Christopher Matthew Andrew David Robert Stephen Paul
Seán Zoltán""".split()

SURNAMES = """Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Robinson Wright Thompson
Evans Walker White Roberts Green Hall Thomas Clarke Jackson Wood Harris Edwards Turner Martin
Cooper Hill Ward Hughes Moore Clark King Harrison Lewis Baker Lee Allen Morris Khan Scott Watson
Davis Parker James Bennett Young Phillips Richardson Mitchell Bailey Carter Cook Singh Shaw Bell
Collins Morgan Kelly Begum Miller Cox Hussain Marshall Simpson Price Anderson Adams Wilkinson Ali
Ahmed Foster Ellis Murphy Chapman Mason Gray Richards Webb Griffiths Hunt Palmer Campbell Holmes
Mills Rogers Barnes Knight Matthews Barker Powell Stevens Kaur Dixon Kennedy Butler Gibson Lloyd
Russell O'Brien Fletcher Dawson Hart Reid Payne Pearson Fox Walsh Ryan Rahman Doherty McDonald
Nowak Kowalski Okafor Mensah Osei Adeyemi Yilmaz Demir Novak Horvath Popescu Ionescu Ferreira
Silva Santos Costa Rossi Russo Kaya Sahin Chaudhry Iqbal Malik Akhtar Bibi Nguyen Tran Le Pham
Wong Chen Li Zhang Liu Wang Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Gao Luo Zheng
Whitfield Ashworth Blackwood Fairbrother Greenhalgh Hargreaves Pemberton Sutcliffe Thistlethwaite
Abbott Acheson Addison Ainsworth Aldridge Appleby Arkwright Atherton Atkinson Austin Bancroft
Barraclough Bateman Beckett Bickerstaff Birch Blackburn Bolton Bradshaw Brennan Briggs Broadbent
Buckley Burgess Caldwell Carr Cartwright Chadwick Clayton Coates Crowther Dalton Denton Duckworth
Eastwood Entwistle Farrell Fenwick Garside Gill Goodwin Hadfield Haigh Hamer Hardcastle Haworth
Hepworth Holroyd Horsfall Howarth Ingham Jagger Kershaw Lister Lomax Marsden Mellor Midgley Nuttall
Ogden Pickles Priestley Rawlinson Redfern Schofield Shackleton Slater Stansfield Sykes Tattersall
Thornton Uttley Wadsworth Walmsley Whiteley Whittaker Wilde Womersley Worsley Yates""".split()

NICKNAMES = {
    "Alexander": "Alex", "Benjamin": "Ben", "Christopher": "Chris", "Daniel": "Dan",
    "Edward": "Ed", "Elizabeth": "Liz", "Isabella": "Bella", "Jacob": "Jake", "James": "Jim",
    "Joseph": "Joe", "Joshua": "Josh", "Matthew": "Matt", "Michael": "Mike", "Nathan": "Nate",
    "Oliver": "Ollie", "Rebecca": "Becky", "Robert": "Rob", "Samuel": "Sam", "Stephen": "Steve",
    "Theodore": "Theo", "Thomas": "Tom", "William": "Will", "Zachary": "Zach", "Charlotte": "Lottie",
    "Florence": "Flo", "Harrison": "Harry", "Jessica": "Jess", "Matilda": "Tilly", "Penelope": "Penny",
    "Sophia": "Sophie", "Andrew": "Andy", "David": "Dave", "Danielle": "Dani", "Natalie": "Nat",
    "Georgia": "Georgie", "Gemma": "Gem", "Kayla": "Kay", "Frankie": "Frank", "Harriet": "Hattie",
    "Eliza": "Lizzie", "Arabella": "Bella", "Reuben": "Reub", "Emilia": "Millie", "Amelia": "Millie",
}

# Postcode districts of an imaginary county; sectors and units are made up on top.
POSTCODE_AREAS = ["IP1", "IP2", "IP3", "IP4", "IP5", "IP8", "IP11", "IP12", "IP14", "IP28",
                  "CO10", "NR32", "NR33", "CB8", "CB9", "MK40", "MK41", "MK42", "MK43", "MK44",
                  "MK45", "LU1", "LU2", "LU3", "LU4", "LU5", "SG17", "SG18", "SG19", "PE19"]
POSTCODE_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
