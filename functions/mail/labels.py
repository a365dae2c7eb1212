"""Mail wording in every supported language (the same languages as the PDF).

Templates use ``str.format`` fields; values are inserted as plain text and escaped for the
HTML part afterwards, so user text can never become markup or a format field. ``days`` holds
the word for "day" in each CLDR plural category the language uses (``babel`` picks one).
"""

from __future__ import annotations

SUPPORTED_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "sv", "pl")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "view_online": "View invoice online",
        "view_credit_online": "View credit note online",
        "signin_subject": "Sign in to {app}",
        "signin_intro": "Use the link below to sign in to {app}.",
        "signin_button": "Sign in",
        "signin_expiry": "The link works once and expires in 15 minutes.",
        "signin_ignore": "If you did not ask to sign in, you can ignore this email.",
        "hello_name": "Hello {name},",
        "hello": "Hello,",
        "invoice_subject": "Invoice {number} from {seller}",
        "credit_subject": "Credit note {number} from {seller}",
        "invoice_intro": "Please find attached invoice {number} from {seller}.",
        "credit_intro": "Please find attached credit note {number} from {seller}.",
        "invoice_number": "Invoice number",
        "credit_number": "Credit note number",
        "issue_date": "Invoice date",
        "total": "Total",
        "amount_due": "Amount due",
        "credit_amount": "Amount credited",
        "due_date": "Due date",
        "payment_reference": "Payment reference",
        "regards": "Kind regards,",
        "reminder1_subject": "Reminder: invoice {number} from {seller}",
        "reminder2_subject": "Second reminder: invoice {number} from {seller} is overdue",
        "reminder3_subject": "Final reminder: invoice {number} from {seller}",
        "reminder1_body": (
            "This is a friendly reminder that invoice {number} of {issue_date} was due on "
            "{due_date}. Perhaps it slipped through; we would be grateful if you could pay "
            "the open amount of {amount}."
        ),
        "reminder2_body": (
            "Invoice {number} of {issue_date} was due on {due_date} and is now {days} "
            "overdue. We have not yet received your payment and ask you to pay the open "
            "amount of {amount} promptly."
        ),
        "reminder3_body": (
            "Despite our earlier reminders, invoice {number} of {issue_date} is still unpaid "
            "{days} after its due date of {due_date}. Please pay the open amount of {amount} "
            "within 7 days. This is our final reminder."
        ),
        "reminder_paid": "If you have already paid, please disregard this message.",
        "reminder_attached": "A copy of the invoice is attached.",
    },
    "de": {
        "view_online": "Rechnung online ansehen",
        "view_credit_online": "Rechnungskorrektur online ansehen",
        "signin_subject": "Anmeldung bei {app}",
        "signin_intro": "Mit dem folgenden Link melden Sie sich bei {app} an.",
        "signin_button": "Anmelden",
        "signin_expiry": "Der Link funktioniert einmal und ist 15 Minuten gültig.",
        "signin_ignore": (
            "Wenn Sie keine Anmeldung angefordert haben, können Sie diese E-Mail ignorieren."
        ),
        "hello_name": "Guten Tag {name},",
        "hello": "Guten Tag,",
        "invoice_subject": "Rechnung {number} von {seller}",
        "credit_subject": "Rechnungskorrektur {number} von {seller}",
        "invoice_intro": "anbei erhalten Sie die Rechnung {number} von {seller}.",
        "credit_intro": "anbei erhalten Sie die Rechnungskorrektur {number} von {seller}.",
        "invoice_number": "Rechnungsnummer",
        "credit_number": "Nummer der Rechnungskorrektur",
        "issue_date": "Rechnungsdatum",
        "total": "Gesamtbetrag",
        "amount_due": "Offener Betrag",
        "credit_amount": "Gutgeschriebener Betrag",
        "due_date": "Fällig am",
        "payment_reference": "Verwendungszweck",
        "regards": "Mit freundlichen Grüßen",
        "reminder1_subject": "Zahlungserinnerung: Rechnung {number} von {seller}",
        "reminder2_subject": "Mahnung: Rechnung {number} von {seller} ist überfällig",
        "reminder3_subject": "Letzte Mahnung: Rechnung {number} von {seller}",
        "reminder1_body": (
            "sicher ist es Ihrer Aufmerksamkeit entgangen: Die Rechnung {number} vom "
            "{issue_date} war am {due_date} fällig. Wir freuen uns, wenn Sie den offenen "
            "Betrag von {amount} begleichen."
        ),
        "reminder2_body": (
            "die Rechnung {number} vom {issue_date} war am {due_date} fällig und ist nun "
            "{days} überfällig. Bis heute ist keine Zahlung eingegangen. Bitte überweisen Sie "
            "den offenen Betrag von {amount} umgehend."
        ),
        "reminder3_body": (
            "trotz unserer Erinnerungen ist die Rechnung {number} vom {issue_date}, fällig am "
            "{due_date}, noch immer nicht bezahlt; sie ist nun {days} überfällig. Bitte "
            "überweisen Sie den offenen Betrag von {amount} innerhalb von 7 Tagen. Dies ist "
            "unsere letzte Mahnung."
        ),
        "reminder_paid": "Sollten Sie bereits bezahlt haben, betrachten Sie diese E-Mail "
        "bitte als gegenstandslos.",
        "reminder_attached": "Eine Kopie der Rechnung liegt bei.",
    },
    "fr": {
        "view_online": "Voir la facture en ligne",
        "view_credit_online": "Voir l'avoir en ligne",
        "signin_subject": "Connexion à {app}",
        "signin_intro": "Utilisez le lien ci-dessous pour vous connecter à {app}.",
        "signin_button": "Se connecter",
        "signin_expiry": "Le lien ne fonctionne qu'une fois et expire dans 15 minutes.",
        "signin_ignore": (
            "Si vous n'avez pas demandé à vous connecter, vous pouvez ignorer cet e-mail."
        ),
        "hello_name": "Bonjour {name},",
        "hello": "Bonjour,",
        "invoice_subject": "Facture {number} de {seller}",
        "credit_subject": "Avoir {number} de {seller}",
        "invoice_intro": "Veuillez trouver ci-joint la facture {number} de {seller}.",
        "credit_intro": "Veuillez trouver ci-joint l'avoir {number} de {seller}.",
        "invoice_number": "Numéro de facture",
        "credit_number": "Numéro d'avoir",
        "issue_date": "Date de facture",
        "total": "Total",
        "amount_due": "Montant dû",
        "credit_amount": "Montant de l'avoir",
        "due_date": "Date d'échéance",
        "payment_reference": "Référence de paiement",
        "regards": "Cordialement,",
        "reminder1_subject": "Rappel : facture {number} de {seller}",
        "reminder2_subject": "Deuxième rappel : la facture {number} de {seller} est en retard",
        "reminder3_subject": "Dernier rappel : facture {number} de {seller}",
        "reminder1_body": (
            "Sauf erreur de notre part, la facture {number} du {issue_date}, échue le "
            "{due_date}, n'a pas encore été réglée. Nous vous remercions de bien vouloir "
            "régler le montant de {amount}."
        ),
        "reminder2_body": (
            "La facture {number} du {issue_date}, échue le {due_date}, est en retard de "
            "{days}. Nous n'avons pas encore reçu votre paiement et vous prions de régler le "
            "montant de {amount} dans les meilleurs délais."
        ),
        "reminder3_body": (
            "Malgré nos rappels, la facture {number} du {issue_date} reste impayée {days} "
            "après son échéance du {due_date}. Nous vous prions de régler le montant de "
            "{amount} sous 7 jours. Ceci est notre dernier rappel."
        ),
        "reminder_paid": (
            "Si vous avez déjà effectué le paiement, merci de ne pas tenir compte de ce message."
        ),
        "reminder_attached": "Vous trouverez une copie de la facture en pièce jointe.",
    },
    "es": {
        "view_online": "Ver la factura en línea",
        "view_credit_online": "Ver la factura rectificativa en línea",
        "signin_subject": "Inicio de sesión en {app}",
        "signin_intro": "Utilice el enlace de abajo para iniciar sesión en {app}.",
        "signin_button": "Iniciar sesión",
        "signin_expiry": "El enlace funciona una sola vez y caduca en 15 minutos.",
        "signin_ignore": "Si no ha solicitado iniciar sesión, puede ignorar este correo.",
        "hello_name": "Hola, {name}:",
        "hello": "Hola:",
        "invoice_subject": "Factura {number} de {seller}",
        "credit_subject": "Factura rectificativa {number} de {seller}",
        "invoice_intro": "Adjuntamos la factura {number} de {seller}.",
        "credit_intro": "Adjuntamos la factura rectificativa {number} de {seller}.",
        "invoice_number": "Número de factura",
        "credit_number": "Número de factura rectificativa",
        "issue_date": "Fecha de factura",
        "total": "Total",
        "amount_due": "Importe pendiente",
        "credit_amount": "Importe abonado",
        "due_date": "Fecha de vencimiento",
        "payment_reference": "Referencia de pago",
        "regards": "Saludos cordiales,",
        "reminder1_subject": "Recordatorio: factura {number} de {seller}",
        "reminder2_subject": "Segundo aviso: la factura {number} de {seller} está vencida",
        "reminder3_subject": "Último aviso: factura {number} de {seller}",
        "reminder1_body": (
            "Le recordamos amablemente que la factura {number} del {issue_date} venció el "
            "{due_date}. Le agradeceríamos que abonara el importe pendiente de {amount}."
        ),
        "reminder2_body": (
            "La factura {number} del {issue_date} venció el {due_date} y lleva {days} de "
            "retraso. Aún no hemos recibido su pago; le rogamos que abone el importe pendiente "
            "de {amount} sin demora."
        ),
        "reminder3_body": (
            "A pesar de nuestros avisos anteriores, la factura {number} del {issue_date} sigue "
            "impagada {days} después de su vencimiento el {due_date}. Le rogamos que abone el "
            "importe pendiente de {amount} en un plazo de 7 días. Este es nuestro último aviso."
        ),
        "reminder_paid": "Si ya ha realizado el pago, ignore este mensaje.",
        "reminder_attached": "Adjuntamos una copia de la factura.",
    },
    "it": {
        "view_online": "Visualizza la fattura online",
        "view_credit_online": "Visualizza la nota di credito online",
        "signin_subject": "Accesso a {app}",
        "signin_intro": "Usa il link qui sotto per accedere a {app}.",
        "signin_button": "Accedi",
        "signin_expiry": "Il link funziona una sola volta e scade tra 15 minuti.",
        "signin_ignore": "Se non hai richiesto l'accesso, puoi ignorare questa email.",
        "hello_name": "Gentile {name},",
        "hello": "Buongiorno,",
        "invoice_subject": "Fattura {number} da {seller}",
        "credit_subject": "Nota di credito {number} da {seller}",
        "invoice_intro": "Le inviamo in allegato la fattura {number} di {seller}.",
        "credit_intro": "Le inviamo in allegato la nota di credito {number} di {seller}.",
        "invoice_number": "Numero fattura",
        "credit_number": "Numero nota di credito",
        "issue_date": "Data fattura",
        "total": "Totale",
        "amount_due": "Importo dovuto",
        "credit_amount": "Importo accreditato",
        "due_date": "Data di scadenza",
        "payment_reference": "Causale di pagamento",
        "regards": "Cordiali saluti,",
        "reminder1_subject": "Promemoria: fattura {number} da {seller}",
        "reminder2_subject": "Secondo sollecito: la fattura {number} da {seller} è scaduta",
        "reminder3_subject": "Ultimo sollecito: fattura {number} da {seller}",
        "reminder1_body": (
            "Le ricordiamo cortesemente che la fattura {number} del {issue_date} è scaduta il "
            "{due_date}. Le saremmo grati se potesse saldare l'importo di {amount}."
        ),
        "reminder2_body": (
            "La fattura {number} del {issue_date}, scaduta il {due_date}, risulta non pagata "
            "da {days}. La preghiamo di saldare l'importo di {amount} al più presto."
        ),
        "reminder3_body": (
            "Nonostante i nostri solleciti, la fattura {number} del {issue_date} risulta "
            "ancora non pagata {days} dopo la scadenza del {due_date}. La preghiamo di saldare "
            "l'importo di {amount} entro 7 giorni. Questo è il nostro ultimo sollecito."
        ),
        "reminder_paid": "Se ha già effettuato il pagamento, non tenga conto di questo messaggio.",
        "reminder_attached": "In allegato una copia della fattura.",
    },
    "nl": {
        "view_online": "Factuur online bekijken",
        "view_credit_online": "Creditnota online bekijken",
        "signin_subject": "Aanmelden bij {app}",
        "signin_intro": "Gebruik de onderstaande link om je aan te melden bij {app}.",
        "signin_button": "Aanmelden",
        "signin_expiry": "De link werkt één keer en verloopt na 15 minuten.",
        "signin_ignore": "Heb je niet gevraagd om aan te melden, dan kun je deze e-mail negeren.",
        "hello_name": "Beste {name},",
        "hello": "Goedendag,",
        "invoice_subject": "Factuur {number} van {seller}",
        "credit_subject": "Creditnota {number} van {seller}",
        "invoice_intro": "Bijgaand ontvangt u factuur {number} van {seller}.",
        "credit_intro": "Bijgaand ontvangt u creditnota {number} van {seller}.",
        "invoice_number": "Factuurnummer",
        "credit_number": "Creditnotanummer",
        "issue_date": "Factuurdatum",
        "total": "Totaal",
        "amount_due": "Openstaand bedrag",
        "credit_amount": "Gecrediteerd bedrag",
        "due_date": "Vervaldatum",
        "payment_reference": "Betalingskenmerk",
        "regards": "Met vriendelijke groet,",
        "reminder1_subject": "Herinnering: factuur {number} van {seller}",
        "reminder2_subject": "Tweede herinnering: factuur {number} van {seller} is vervallen",
        "reminder3_subject": "Laatste aanmaning: factuur {number} van {seller}",
        "reminder1_body": (
            "Graag herinneren wij u eraan dat factuur {number} d.d. {issue_date} op {due_date} "
            "is vervallen. Wellicht is de betaling aan uw aandacht ontsnapt; wij verzoeken u "
            "het openstaande bedrag van {amount} te voldoen."
        ),
        "reminder2_body": (
            "Factuur {number} d.d. {issue_date} is op {due_date} vervallen en staat nu {days} "
            "te laat open. Wij hebben uw betaling nog niet ontvangen en verzoeken u het "
            "openstaande bedrag van {amount} per omgaande te voldoen."
        ),
        "reminder3_body": (
            "Ondanks onze eerdere herinneringen is factuur {number} d.d. {issue_date}, "
            "vervallen op {due_date}, nog steeds niet betaald; de betaling is nu {days} te "
            "laat. Wij verzoeken u het openstaande bedrag van {amount} binnen 7 dagen te "
            "voldoen. Dit is onze laatste aanmaning."
        ),
        "reminder_paid": "Heeft u inmiddels betaald, dan kunt u dit bericht als niet verzonden "
        "beschouwen.",
        "reminder_attached": "Een kopie van de factuur is bijgevoegd.",
    },
    "sv": {
        "view_online": "Visa fakturan online",
        "view_credit_online": "Visa kreditfakturan online",
        "signin_subject": "Logga in på {app}",
        "signin_intro": "Använd länken nedan för att logga in på {app}.",
        "signin_button": "Logga in",
        "signin_expiry": "Länken fungerar en gång och slutar gälla om 15 minuter.",
        "signin_ignore": "Om du inte har bett om att logga in kan du bortse från det här mejlet.",
        "hello_name": "Hej {name},",
        "hello": "Hej,",
        "invoice_subject": "Faktura {number} från {seller}",
        "credit_subject": "Kreditfaktura {number} från {seller}",
        "invoice_intro": "Bifogat finns faktura {number} från {seller}.",
        "credit_intro": "Bifogat finns kreditfaktura {number} från {seller}.",
        "invoice_number": "Fakturanummer",
        "credit_number": "Kreditfakturanummer",
        "issue_date": "Fakturadatum",
        "total": "Totalt",
        "amount_due": "Att betala",
        "credit_amount": "Krediterat belopp",
        "due_date": "Förfallodatum",
        "payment_reference": "Betalningsreferens",
        "regards": "Med vänliga hälsningar,",
        "reminder1_subject": "Påminnelse: faktura {number} från {seller}",
        "reminder2_subject": "Andra påminnelsen: faktura {number} från {seller} är förfallen",
        "reminder3_subject": "Sista påminnelsen: faktura {number} från {seller}",
        "reminder1_body": (
            "Vi vill vänligen påminna om att faktura {number} daterad {issue_date} förföll "
            "till betalning {due_date}. Vi är tacksamma om du betalar det utestående beloppet "
            "på {amount}."
        ),
        "reminder2_body": (
            "Faktura {number} daterad {issue_date} förföll {due_date} och är nu {days} "
            "försenad. Vi har ännu inte fått din betalning och ber dig betala det utestående "
            "beloppet på {amount} snarast."
        ),
        "reminder3_body": (
            "Trots tidigare påminnelser är faktura {number} daterad {issue_date} fortfarande "
            "obetald {days} efter förfallodagen {due_date}. Vi ber dig betala det utestående "
            "beloppet på {amount} inom 7 dagar. Detta är vår sista påminnelse."
        ),
        "reminder_paid": "Om du redan har betalat kan du bortse från detta meddelande.",
        "reminder_attached": "En kopia av fakturan bifogas.",
    },
    "pl": {
        "view_online": "Zobacz fakturę online",
        "view_credit_online": "Zobacz fakturę korygującą online",
        "signin_subject": "Logowanie do {app}",
        "signin_intro": "Użyj poniższego linku, aby zalogować się do {app}.",
        "signin_button": "Zaloguj się",
        "signin_expiry": "Link działa jeden raz i wygasa po 15 minutach.",
        "signin_ignore": "Jeśli to nie Ty chcesz się zalogować, zignoruj tę wiadomość.",
        "hello_name": "Dzień dobry {name},",
        "hello": "Dzień dobry,",
        "invoice_subject": "Faktura {number} od {seller}",
        "credit_subject": "Faktura korygująca {number} od {seller}",
        "invoice_intro": "W załączeniu przesyłamy fakturę {number} od {seller}.",
        "credit_intro": "W załączeniu przesyłamy fakturę korygującą {number} od {seller}.",
        "invoice_number": "Numer faktury",
        "credit_number": "Numer faktury korygującej",
        "issue_date": "Data wystawienia",
        "total": "Razem",
        "amount_due": "Kwota do zapłaty",
        "credit_amount": "Kwota korekty",
        "due_date": "Termin płatności",
        "payment_reference": "Tytuł płatności",
        "regards": "Z poważaniem,",
        "reminder1_subject": "Przypomnienie: faktura {number} od {seller}",
        "reminder2_subject": "Drugie przypomnienie: faktura {number} od {seller} jest "
        "przeterminowana",
        "reminder3_subject": "Ostateczne wezwanie: faktura {number} od {seller}",
        "reminder1_body": (
            "Uprzejmie przypominamy, że termin płatności faktury {number} z dnia {issue_date} "
            "upłynął {due_date}. Prosimy o uregulowanie kwoty {amount}."
        ),
        "reminder2_body": (
            "Termin płatności faktury {number} z dnia {issue_date} upłynął {due_date}; "
            "płatność jest opóźniona o {days}. Nie otrzymaliśmy jeszcze wpłaty i prosimy o "
            "niezwłoczne uregulowanie kwoty {amount}."
        ),
        "reminder3_body": (
            "Mimo wcześniejszych przypomnień faktura {number} z dnia {issue_date} pozostaje "
            "nieopłacona {days} po terminie płatności ({due_date}). Prosimy o uregulowanie "
            "kwoty {amount} w ciągu 7 dni. To jest nasze ostateczne wezwanie."
        ),
        "reminder_paid": "Jeśli płatność została już dokonana, prosimy zignorować tę wiadomość.",
        "reminder_attached": "W załączeniu kopia faktury.",
    },
}

# The word for "day" by CLDR plural category; "other" is the fallback.
DAYS: dict[str, dict[str, str]] = {
    "en": {"one": "day", "other": "days"},
    "de": {"one": "Tag", "other": "Tage"},
    "fr": {"one": "jour", "other": "jours"},
    "es": {"one": "día", "other": "días"},
    "it": {"one": "giorno", "other": "giorni"},
    "nl": {"one": "dag", "other": "dagen"},
    "sv": {"one": "dag", "other": "dagar"},
    "pl": {"one": "dzień", "few": "dni", "many": "dni", "other": "dnia"},
}

#: Quote mails (issue 20): subject, intro, facts and the button to the hosted page.
QUOTE_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "subject": "Quote {number} from {seller}",
        "intro": "Please find attached quote {number} from {seller}.",
        "number": "Quote number",
        "date": "Quote date",
        "valid_until": "Valid until",
        "total": "Total",
        "button": "View, accept or decline the quote",
    },
    "de": {
        "subject": "Angebot {number} von {seller}",
        "intro": "anbei erhalten Sie unser Angebot {number} von {seller}.",
        "number": "Angebotsnummer",
        "date": "Angebotsdatum",
        "valid_until": "Gültig bis",
        "total": "Gesamtbetrag",
        "button": "Angebot ansehen, annehmen oder ablehnen",
    },
    "fr": {
        "subject": "Devis {number} de {seller}",
        "intro": "Veuillez trouver ci-joint le devis {number} de {seller}.",
        "number": "Numéro de devis",
        "date": "Date du devis",
        "valid_until": "Valable jusqu'au",
        "total": "Total",
        "button": "Consulter, accepter ou refuser le devis",
    },
    "es": {
        "subject": "Presupuesto {number} de {seller}",
        "intro": "Adjuntamos el presupuesto {number} de {seller}.",
        "number": "Número de presupuesto",
        "date": "Fecha del presupuesto",
        "valid_until": "Válido hasta",
        "total": "Total",
        "button": "Ver, aceptar o rechazar el presupuesto",
    },
    "it": {
        "subject": "Preventivo {number} di {seller}",
        "intro": "In allegato il preventivo {number} di {seller}.",
        "number": "Numero preventivo",
        "date": "Data del preventivo",
        "valid_until": "Valido fino al",
        "total": "Totale",
        "button": "Visualizza, accetta o rifiuta il preventivo",
    },
    "nl": {
        "subject": "Offerte {number} van {seller}",
        "intro": "In de bijlage vindt u offerte {number} van {seller}.",
        "number": "Offertenummer",
        "date": "Offertedatum",
        "valid_until": "Geldig tot",
        "total": "Totaal",
        "button": "Offerte bekijken, accepteren of afwijzen",
    },
    "sv": {
        "subject": "Offert {number} från {seller}",
        "intro": "Bifogat finner du offert {number} från {seller}.",
        "number": "Offertnummer",
        "date": "Offertdatum",
        "valid_until": "Giltig till",
        "total": "Totalt",
        "button": "Visa, acceptera eller avböj offerten",
    },
    "pl": {
        "subject": "Oferta {number} od {seller}",
        "intro": "W załączeniu przesyłamy ofertę {number} od {seller}.",
        "number": "Numer oferty",
        "date": "Data oferty",
        "valid_until": "Ważna do",
        "total": "Razem",
        "button": "Zobacz, zaakceptuj lub odrzuć ofertę",
    },
}
