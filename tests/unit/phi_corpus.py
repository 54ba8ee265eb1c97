"""A labelled corpus for the PHI detector: help-desk sentences in French, English and Russian.

Every person, number and address here is fictional. Checksummed numbers (NIR, SNILS, Ontario
health card, bank cards) were computed with their algorithms, not guessed; phone numbers use
the ranges kept for fiction where one exists (France 01 99 00, 06 39 98; North America
555-01xx). Near-misses (ticket numbers, versions, IP and MAC addresses, invalid keys, bank
cards, ordinary dates, log timestamps) are sentences without markup.

Markup: ``{{kind|text}}`` where kind is a ``Kind`` value; ``parse`` removes it and returns
the spans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from server.domain.phi import DetectorConfig, Kind

CONFIG = DetectorConfig(
    identifier_patterns=(
        ("IPP", r"(?i)\bIPP\s*(?:n°|no|#|:)?\s*\d{7,10}\b"),
        ("NDA", r"\bNDA\s*(?:n°|:)?\s*\d{9}\b"),
        ("PATIENT", r"\bPAT-\d{6}\b"),
        ("MRN", r"\bMRN\s*[:#]?\s*\d{6,9}\b"),
        ("MEDCARD", r"(?i)медкарт[аыуе]\s*№?\s*\d{5,8}"),
    ),
    names=(
        "Élodie Marchand",
        "Jean-Baptiste Lefèvre",
        "Margaret O'Connor",
        "Sébastien Côté",
        "Hélène Dubois",
        "Robert Tremblay",
        "Chloé Nguyen",
        "Мария Иванова",
        "Пётр Смирнов",
        "Анна Кузнецова",
    ),
)


@dataclass(frozen=True, slots=True)
class Entity:
    kind: Kind
    start: int
    end: int


_MARK = re.compile(r"\{\{(\w+)\|(.+?)\}\}")


def parse(marked: str) -> tuple[str, list[Entity]]:
    """The plain text and its labelled entities."""
    plain: list[str] = []
    entities: list[Entity] = []
    length = 0
    cursor = 0
    for match in _MARK.finditer(marked):
        before = marked[cursor : match.start()]
        plain.append(before)
        length += len(before)
        value = match.group(2)
        entities.append(Entity(Kind(match.group(1)), length, length + len(value)))
        plain.append(value)
        length += len(value)
        cursor = match.end()
    plain.append(marked[cursor:])
    return "".join(plain), entities


CORPUS: tuple[str, ...] = (
    # --- NIR (French social security number) -------------------------------------------------
    "Bonjour, la carte Vitale de la patiente ne passe plus, NIR {{nir|2 65 11 13 050 075 09}}.",
    "Le numéro de sécu saisi dans Pastel est {{nir|763106906093282}}, il est refusé par l'ADRi.",
    "Patient né en Corse, NIR {{nir|2 45 09 2A 435 061 26}} : la clé est signalée fausse.",
    "Doublon d'identité : {{nir|1 77 07 44 051 227 37}} et {{nir|194033129743056}} fusionnés.",
    "Merci de corriger le NIR {{nir|1 47 10 31 316 574 11}} (erreur de saisie à l'accueil).",
    "N° SS : {{nir|2 75 12 69 065 578 77}} - la mutuelle ne remonte pas.",
    "La FSE est rejetée pour l'assuré {{nir|1 53 08 44 697 545 58}}, code erreur 501.",
    "Numéro de sécurité sociale {{nir|1691033946465 70}} mal découpé dans le PDF exporté.",
    "Assurée née à Bastia : {{nir|2 55 03 2B 716 799 96}}, la clé est bien 96.",
    "Le lecteur affiche {{nir|268053562407591}} au lieu du nom du bénéficiaire.",
    "NIR provisoire {{nir|8 54 11 69 643 597 18}} attribué par la caisse, à remplacer.",
    "Ticket 48213 : le NIR {{nir|2 76 06 31 349 712 64}} apparaît dans le journal d'erreurs.",
    "Insured person {{nir|1 66 01 06 986 685 61}} cannot be found in the French registry.",
    "Pour la patiente {{nir|292069710296497}} (Guadeloupe) le téléservice INSi échoue.",
    "Номер французского страхования {{nir|2 86 12 75 318 663 43}} не проходит проверку.",
    "Le NIR {{nir|2.57.08.69.714.681.43}} a été recopié avec des points, est-ce un souci ?",
    "Erreur INSi : matricule {{nir|1 77 10 69 655 193 45}} inconnu.",
    # NIR near-misses: wrong keys, SIRET, IMEI, FINESS, long order numbers.
    "Le NIR 1 85 05 78 006 084 36 est refusé : la clé ne correspond pas, c'est normal ?",
    "Essai avec 2 65 11 13 050 075 10, toujours le message « clé NIR invalide ».",
    "Le SIRET de la clinique 732 829 320 00074 est mal renseigné dans la facture.",
    "IMEI du smartphone perdu : 356938035643809, merci de le bloquer dans l'Intune.",
    "Établissement FINESS 690781810, merci de mettre à jour le paramétrage.",
    "Commande fournisseur 202403120045781 livrée incomplète, 3 écrans manquants.",
    "Clé fausse sur 177074405122738 : le contrôle bloque l'admission, est-ce attendu ?",
    # --- SNILS -------------------------------------------------------------------------------
    "Не проходит проверка СНИЛС {{snils|275-874-400 18}} в МИС, пишет «ошибка формата».",
    "СНИЛС пациентки {{snils|437-239-380 96}} дублируется в двух картах.",
    "Прошу исправить СНИЛС: {{snils|429-779-047 41}} вместо старого номера.",
    "В выгрузке в ФРМР у врача СНИЛС {{snils|994 423 924 60}}, а должен быть другой.",
    "SNILS {{snils|945-682-220 40}} is rejected by the federal registry web service.",
    "Пациент {{snils|543-120-015 20}} не отображается в расписании.",
    "Сотрудник с СНИЛС {{snils|09652351385}} не может войти через Госуслуги.",
    "После обновления МИС номер {{snils|188-634-438 20}} отображается без дефисов.",
    "Ошибка интеграции: snils={{snils|492-311-296-78}} не найден в регистре.",
    "Le patient russe a fourni son SNILS {{snils|441-262-237 43}} pour le dossier.",
    "Страховой номер {{snils|599-956-612 02}} указан в направлении неверно?",
    "Дубль карты: {{snils|308-327-495 73}} и {{snils|958-526-166 60}}.",
    "Проверьте СНИЛС {{snils|157 023 327 39}} — электронный рецепт не подписывается.",
    "В ЭМК пациента {{snils|889-695-030 03}} нет данных о прививках.",
    "Регистратура ввела {{snils|472-269-100 86}}, система приняла, но полис не нашёлся.",
    "Прошу удалить из заявки СНИЛС {{snils|93769625881}}, он был прикреплён по ошибке.",
    # SNILS near-misses: wrong checksums, INN, account numbers, OGRN.
    "СНИЛС 275-874-400 19 не проходит проверку контрольной суммы — это нормально?",
    "Проверка 437-239-380 97 выдаёт ошибку, видимо опечатка в номере.",
    "ИНН организации 7707083893, КПП 773601001 — для договора на обслуживание.",
    "Номер счёта 40817810099910004312 указан в заявке на оплату лицензий.",
    "ОГРН 1027700132195 в реквизитах поставщика картриджей.",
    "Заявка 123-456-789 создана автоматически из почты.",
    # --- Ontario health card (OHIP) ----------------------------------------------------------
    "Health card {{ohip|5459-212-352-MZ}} is flagged as expired at registration.",
    "OHIP number {{ohip|5084 957 306 HE}} fails validation in the EMR after the update.",
    "Patient's health number {{ohip|1891041384}} was typed without the version code.",
    "Carte santé de l'Ontario {{ohip|3490-617-895}} : le portail refuse la vérification.",
    "Please remove HCN {{ohip|1129-526-156-SW}} from the attachment name.",
    "The lab interface rejects {{ohip|2957-891-712}} with error HL7-207.",
    "Health card validation service timed out for {{ohip|1043 954 781}}.",
    "Numéro d'assurance-santé de l'Ontario {{ohip|6740126724}}, version LE.",
    "OHIP {{ohip|7081-042-603-LE}} shows a different patient in the lookup.",
    "Scanning the card gives {{ohip|8414 119 159 TX}} but the EMR shows another number.",
    "The front desk typed {{ohip|8032-648-803}} twice, creating a duplicate chart.",
    "Пациент из Онтарио, номер карты {{ohip|5903-174-638}}, не находится в базе.",
    "Ontario health card {{ohip|5213 136 400}} was entered as a Québec RAMQ number.",
    "Billing rejected claim for {{ohip|5231-831-479-DS}}: version code mismatch.",
    "OHIP card {{ohip|7810632344}} printed on the wristband is unreadable.",
    "Health card number {{ohip|3046-654-392}} appears in the crash report, please purge it.",
    # OHIP near-misses: Luhn failures, timestamps, orders, phones that look alike.
    "Health card 5459-212-355 fails the check digit, the clerk probably mistyped it.",
    "Asset tag 2024-031-001 is missing from the inventory spreadsheet.",
    "The job started at epoch 1710251133 and never finished.",
    "Order 4333917167 from the vendor portal has not arrived yet.",
    "Référence de la facture 5685172372, merci de la transmettre à la comptabilité.",
    "Licence 3704-411-549 expirée sur le poste de la radiologie.",
    # --- RAMQ (Québec health insurance number) -----------------------------------------------
    "Carte RAMQ {{ramq|TREM 5803 1211}} refusée à l'admission, date d'expiration dépassée ?",
    "Le numéro d'assurance maladie {{ramq|GAGL 8556 2318}} n'est pas reconnu par le SIPAD.",
    "Usager {{ramq|ROYJ-9011-0412}} en double dans le registre, merci de fusionner.",
    "NAM {{ramq|COTS85610315}} affiché dans l'objet du courriel, à retirer.",
    "RAMQ number {{ramq|BOUN 7757 2919}} fails at the pharmacy interface.",
    "Le DSQ renvoie une erreur pour {{ramq|GAUP 6402 2814}}.",
    "Carte d'assurance maladie {{ramq|MORC 0159 0712}} : la photo ne s'affiche pas.",
    "Admission bloquée, NAM {{ramq|LAVM 4912 3115}} introuvable.",
    "Patient {{ramq|FORA 9562 0119}} cannot book online, the portal says invalid number.",
    "Le numéro {{ramq|LEBD 8801 1714}} a été saisi dans le champ du NIR par erreur.",
    "Vérification RAMQ échouée pour {{ramq|NGUC 9353 2212}} après la mise à jour.",
    "Carte soleil {{ramq|BELJ 7010 0911}} scannée à l'envers, numéro mal lu.",
    "Please mask {{ramq|PELE 0460 1411}} in the exported appointment list.",
    "NAM {{ramq|OCOM 5551 0818}} : la patiente vient de l'Ontario, vérifier la couverture.",
    "Номер RAMQ {{ramq|DUBH 6659 3012}} указан в письме пациентки из Квебека.",
    "Le numéro {{ramq|LEFJ 8007 0511}} apparaît en clair dans le rapport Crystal.",
    # RAMQ near-misses: product keys, serials, hostnames with impossible dates.
    "Clé de licence ABCD 1234 5678 refusée par l'activation Windows.",
    "Le poste PCLY-2211-0042 ne démarre plus après la mise à jour du BIOS.",
    "Serial DELL 7490 1234 is out of warranty according to the vendor.",
    "Licence XPRO 2024 1301 renouvelée jusqu'en 2026.",
    "Le serveur SRVX 2023 4455 redémarre en boucle depuis ce matin.",
    "Incident INC0012345678 fermé par erreur.",
    # --- OMS (Russian compulsory medical insurance policy) -----------------------------------
    "Полис ОМС {{oms|7851 3137 3537 9907}} не найден в региональном сегменте.",
    "Номер полиса: {{oms|7763726516761222}}, пациентка прикреплена к другой поликлинике.",
    "OMS policy {{oms|5072 9975 2882 0018}} is not accepted by the booking portal.",
    "Полис обязательного медицинского страхования № {{oms|7830434839548620}} не проходит проверку.",
    "В карте пациента указан полис {{oms|5086 8282 8807 2902}}, а в ЕРЗ другой.",
    "ОМС: {{oms|7891805888718033}} — ошибка при записи через Госуслуги.",
    "Прошу обновить полис ОМС пациента на {{oms|5487801759898347}}.",
    "Le patient a une police OMS russe {{oms|5083 8483 7261 6751}}, faut-il le saisir ?",
    "Ошибка ТФОМС: полис {{oms|5034-1252-4273-1672}} аннулирован.",
    "Policy number {{oms|7786 5635 5150 5877}} (OMS) appears in the log file.",
    "При выписке направления полис {{oms|5089481131144024}} подставляется чужой.",
    "Номер {{oms|7762 8897 5140 2614}} (полис ОМС) не читается сканером.",
    "Страховая сообщила новый полис ОМС {{oms|7719314170586492}}.",
    "Полис единого образца {{oms|7812 4023 4483 4782}} не отображается в ЭМК.",
    "Проверка полиса ОМС {{oms|5440008838737167}} зависает на 30 секунд.",
    "В реестре счетов полис {{oms|5043 3532 6502 0146}} указан с ошибкой.",
    # OMS near-misses: bank cards and long identifiers without policy context.
    "Оплата лицензии картой 4276 5901 3962 4596 не прошла, банк отклонил.",
    "Card 4111 1547 2803 8525 was charged twice for the software subscription.",
    "Paiement CB 5469 5711 7777 4125 refusé sur le site du fournisseur.",
    "Номер транзакции 2200888539336331 в выписке банка по закупке.",
    "Идентификатор сессии 7868493407224704 повторяется в логах веб-сервера.",
    "Trace ID 5053043520561748 from the gateway, please check the load balancer.",
    # --- Phones ------------------------------------------------------------------------------
    "Merci de rappeler Mme Durand au {{phone|06 39 98 12 34}} pour son accès au portail.",
    "Le secrétariat est joignable au {{phone|01.99.00.45.67}} de 8h à 17h.",
    "Numéro du cadre de santé : {{phone|+33 6 39 98 76 54}}.",
    "Appelez le patient au {{phone|04-65-71-22-33}}, il ne reçoit pas le SMS.",
    "Téléphone portable {{phone|0639981122}} à ajouter au dossier.",
    "Le standard {{phone|+33 (0)1 99 00 12 12}} renvoie vers une messagerie pleine.",
    "Please call the clinic back at {{phone|+1 514 555 0199}} about the scanner.",
    "The patient's callback number is {{phone|(438) 555-0142}}.",
    "Contact: {{phone|514-555-0123}} (mobile), after 5 pm only.",
    "Le service à la clientèle : {{phone|1-800-555-0175}}.",
    "Ontario pharmacy line {{phone|+1-613-555-0110}} keeps dropping calls.",
    "Son cellulaire est le {{phone|416.555.0188}}.",
    "Перезвоните пациенту по номеру {{phone|+7 916 123-45-67}}.",
    "Телефон регистратуры {{phone|8 (495) 123-45-67}} не отвечает с утра.",
    "Контактный номер {{phone|+7 (812) 555-12-34}}, звонить после 14:00.",
    "Горячая линия {{phone|8-800-555-35-35}} указана в шаблоне письма.",
    "Мобильный пациентки {{phone|89161234567}} не принимает СМС.",
    "WhatsApp du patient : {{phone|+79031234567}}.",
    "The fax number {{phone|(819) 555 0166}} is printed on every referral.",
    # Phone near-misses: extensions, short numbers, IPs, MACs, versions, timestamps.
    "Poste 4521 en panne, merci d'appeler le 15 ou le 112 en cas d'urgence vitale.",
    "Le numéro 06 39 98 12 est incomplet, il manque deux chiffres.",
    "L'imprimante du 3e étage a l'adresse 10.12.34.56 et le masque 255.255.255.0.",
    "MAC address 00-1A-2B-3C-4D-5E must be added to the NAC whitelist.",
    "Adresse MAC de la VM : 08-00-27-12-34-56, à déclarer dans le DHCP.",
    "Version 4.12.3.1045 du client lourd installée sur tous les postes.",
    "Build 2024.03.12.1530 is the one deployed on the test server.",
    "Ticket #458213 fusionné avec #458214.",
    "Журнал: 2024-03-12 14:05:33.123 ERROR pid=48213 tid=7 connection reset.",
    "Заявка № 1234567 закрыта, порт 8443 открыт на межсетевом экране.",
    "Commande 2024-00123 : 12 claviers, 4 souris.",
    "Server listens on 0.0.0.0:8080 and 192.168.1.254:443.",
    # --- E-mail addresses --------------------------------------------------------------------
    "La patiente écrit depuis {{email|elodie.marchand@exemple-mail.fr}} et ne reçoit rien.",
    "Please reset the portal password for {{email|j.lefevre@example.com}}.",
    "Adresse à corriger : {{email|m.oconnor+portal@example.ca}}.",
    "Письмо пациентки с адреса {{email|ivanova.m@example.ru}} попало в спам.",
    "Почта {{email|пётр.смирнов@пример.рф}} не принимается формой регистрации.",
    "Transfert des résultats à {{email|DUBOIS.Helene@hopital-exemple.fr}} échoué.",
    "Mail from {{email|robert.tremblay@example.qc.ca}} bounced with 550.",
    "Remplacer {{email|chloe_nguyen99@example.org}} par son adresse pro.",
    "Пациентка просит писать на {{email|a.kuznetsova@example.com}}.",
    "Le compte {{email|support-ticket_42@hopital-nord.example}} reçoit des pièces jointes.",
    "Exporter la liste envoyée par {{email|secretariat.cardio@chu-exemple.fr}} vendredi.",
    "Contact: {{email|seb.cote@example.net}}, cc {{email|admin.it@example.net}}.",
    "L'adresse {{email|Marie-Anne.Lemoine@exemple.fr}} figure dans le CR de consultation.",
    "Signature: Dr N. Volkov, {{email|n.volkov@clinic.example.ru}}.",
    "Ошибка SMTP при отправке на {{email|registratura@gp12.example.ru}}.",
    "Ses résultats ont été envoyés à {{email|p.garnier@laposte.example}} par erreur.",
    # E-mail near-misses.
    "git clone git@gitlab.chu.local:infra/ansible.git fails with permission denied.",
    "L'icône logo@2x.png est floue sur les écrans Retina.",
    "Ping @jdupont sur le canal #support pour la relecture.",
    "The cron mails root@localhost every night.",
    "SSH to admin@10.0.0.12 refused after the reboot.",
    "npm install left-pad@1.3.0 fails behind the proxy.",
    "Le décorateur @app.route ne prend pas le paramètre.",
    # --- Dates of birth ----------------------------------------------------------------------
    "Mme Dupuis, née le {{birth_date|12/03/1985}}, n'a pas reçu son compte-rendu.",
    "Patient DDN : {{birth_date|03.07.1962}}, doublon dans l'annuaire.",
    "Date de naissance {{birth_date|1978-11-30}} inversée avec la date d'admission.",
    "M. Petit, né le {{birth_date|1er mars 1950}}, apparaît deux fois.",
    "Patient DOB: {{birth_date|04/22/1990}} shows as 22/04 in the new module.",
    "Date of birth {{birth_date|March 12, 1985}} was imported as 1900-01-01.",
    "The caller was born {{birth_date|7 July 1971}} according to the chart.",
    "Дата рождения: {{birth_date|15.08.1983}}, пациентка не находит свою карту.",
    "Пациент, д.р. {{birth_date|02.02.1991}}, не может записаться к врачу.",
    "Пациентка родилась {{birth_date|12 марта 1985}} г., карта задвоилась.",
    "Родился {{birth_date|3 января 1949}}, в МИС записан 1950 год.",
    "Né(e) le : {{birth_date|29/02/1988}} refusé par le formulaire, pourtant c'est valide.",
    "DOB {{birth_date|1956-05-17}}; patient cannot log in to MyChart.",
    "La date {{birth_date|12/08/1975}} (date de naissance) est mal affichée.",
    "Birthdate: {{birth_date|11 Nov 1977}}, please fix the chart.",
    "DDN {{birth_date|05/06/44}} : l'année s'affiche 2044 dans le dossier.",
    "D.O.B.: {{birth_date|09-10-1968}} entered in the wrong field.",
    "Дата рождения пациента {{birth_date|1990-04-01}} отображается неверно.",
    # Birth-date near-misses: ordinary dates, log timestamps, dates after another number.
    "Le scanner ne fonctionne plus depuis le 12/03/2025, merci d'intervenir.",
    "Intervention prévue le 15.01.2024 à 14h en salle de réunion.",
    "Mise à jour du 2024-03-12 : nouvelle version du connecteur HPRIM.",
    "Dernière connexion : 12 mars 2025 à 08:14.",
    "The printer has been offline since March 3, 2024.",
    "Не работает принтер с 12.03.2024, заявка повторная.",
    "Patient né en 1985, vu en consultation le 14/02/2024, compte-rendu absent.",
    "2024-03-12T10:15:30Z INFO session opened for user 4412.",
    "Certificate expires on 2025-06-30, please renew it before.",
    "Сертификат ЭЦП врача истекает 31.12.2024.",
    "Relance du 02/05/2024 restée sans réponse.",
    "DDN absente, RDV le 12/03/2024 à reprogrammer.",
    # --- Identifiers configured by the deployment (IPP, NDA, patient numbers) ----------------
    "Fusion d'identité demandée entre {{custom|IPP 12345678}} et {{custom|IPP 12345697}}.",
    "Le patient {{custom|IPP n° 0045781236}} n'apparaît pas dans le PACS.",
    "{{custom|IPP: 7781234}} créé deux fois par les urgences.",
    "Venue {{custom|NDA 123456789}} sans mouvement de sortie.",
    "Le dossier {{custom|PAT-004512}} est verrouillé par un autre utilisateur.",
    "Lab results for {{custom|MRN: 00482913}} are attached to the wrong encounter.",
    "Пациент {{custom|медкарта № 458812}} не отображается в расписании.",
    "Patient {{custom|IPP#30025871}} cannot be merged in the EMPI.",
    "Erreur HPRIM sur {{custom|NDA: 240031245}}, segment PID vide.",
    "Demande d'accès au dossier {{custom|PAT-117890}} pour audit.",
    "Please unlock {{custom|MRN 774120}} in the ADT system.",
    "Дубликат: {{custom|медкарта 1002345}} и {{custom|медкарта 1002346}}.",
    "Le bracelet de l'{{custom|IPP 00931877}} s'imprime sans code-barres.",
    "Encounter {{custom|MRN#5561200}} missing in the HL7 feed.",
    "Identito-vigilance : {{custom|ipp 88012345}} lié à deux NIR différents.",
    # Configured-identifier near-misses.
    "L'imprimante est déclarée en IPP sur le port 631.",
    "IP 10.1.2.3 en conflit avec le poste de l'accueil.",
    "Le NDA signé avec l'éditeur est dans le partage juridique.",
    "Le champ MRN est vide dans la requête FHIR.",
    "Ticket PAT-12 migré depuis l'ancien outil.",
    # --- Patient names configured by the deployment ------------------------------------------
    "La patiente {{name|Élodie Marchand}} ne reçoit pas ses résultats.",
    "Dossier de Mme {{name|MARCHAND Elodie}} verrouillé depuis hier.",
    "Compte-rendu de {{name|elodie marchand}} envoyé au mauvais médecin.",
    "Erreur d'identité : {{name|Jean Baptiste Lefevre}} fusionné avec un homonyme.",
    "Le patient {{name|LEFÈVRE Jean-Baptiste}} n'apparaît pas dans le planning.",
    "Please remove {{name|Margaret O’Connor}} from the shared screenshot.",
    "Admission de {{name|Sebastien Cote}} bloquée au guichet.",
    "Mme {{name|Hélène DUBOIS}} signale un résultat d'une autre patiente dans son espace.",
    "Chart of {{name|Tremblay, Robert}} opened by mistake by the night shift.",
    "Rendez-vous de {{name|Chloé NGUYEN}} annulé sans notification.",
    "Карта {{name|Марии Ивановой}} задвоилась после миграции.",
    "Пациентка {{name|Иванова Мария}} не может войти в личный кабинет.",
    "Направление для {{name|Петра Смирнова}} не печатается.",
    "Пациент {{name|Смирнов Пётр}} записан к двум врачам одновременно.",
    "Результаты {{name|Анны Кузнецовой}} отправлены другой пациентке.",
    "Le mail de {{name|Robert Tremblay}} contient sa carte en pièce jointe.",
    # Name near-misses: other people, a first or last name alone, a company.
    "Le fournisseur Marchand Informatique livre les écrans jeudi.",
    "Élodie de la comptabilité demande un accès au partage.",
    "Dubois est le nom du bâtiment B, pas d'un patient.",
    "Иван Иванов из ИТ-отдела установил принтер.",
    "Кузнецов обещал перезвонить по поводу сервера.",
    "The Tremblay building has no Wi-Fi on the second floor.",
    "Nguyen Van Linh de l'équipe réseau a redémarré le switch.",
    # --- Several kinds in one ticket ---------------------------------------------------------
    "Patiente {{name|Élodie Marchand}}, née le {{birth_date|12 mai 1979}}, "
    "NIR {{nir|2 71 10 44 817 468 97}}, tél. {{phone|06 39 98 45 45}}, "
    "{{email|e.marchand@exemple-mail.fr}} : résultats visibles par un autre patient.",
    "Patient {{name|Robert Tremblay}}, RAMQ {{ramq|TREM 7204 1518}}, "
    "DOB {{birth_date|1972-04-15}}, phone {{phone|(514) 555-0177}}.",
    "Пациентка {{name|Анна Кузнецова}}, дата рождения {{birth_date|21.06.1987}}, "
    "СНИЛС {{snils|600-793-751 84}}, полис ОМС {{oms|5053 0435 2056 1749}}, "
    "тел. {{phone|+7 903 555-12-12}}.",
    "Ontario patient {{name|Margaret O'Connor}}, health card {{ohip|4651-298-293-XB}}, "
    "born {{birth_date|January 8, 1955}}, {{custom|MRN: 00991234}}.",
    "Export nocturne : 2024-03-12 02:00:01 job=export rows=18234 duration=312s status=OK.",
)
