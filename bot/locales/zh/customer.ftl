# 简体中文：顾客看到的文字。键和变量与 ../en/customer.ftl 相同；缺少的键用默认语言（英文）。
start =
    你好{ $name }！我是 { $product } 的客服助手。
    
    关于订单、配送、退货、付款、账户或我们的产品，有任何问题都可以直接用自己的话问我。如果我不确定，会帮你转给我们的人工客服。
    
    发送 /help 查看我能做什么。
help =
    直接输入你的问题就可以，例如“我的订单到哪了？”或“怎么退货？”。
    
    • 回答下方的 👍 / 👎 可以告诉我们它是否有帮助。
    • “转人工客服”会把你的问题交给我们的客服团队。
    • /start 再次显示欢迎语。
    • /language 更改我回复你时使用的语言。
    • /mydata 发送我们保存的关于你的数据；/forget 删除这些数据。
not-text = 抱歉，我只能读懂文字消息。请把你的问题打出来——如果想让人工客服来看，也可以点“转人工客服”。
empty = 请用文字输入你的问题，我来帮你查。
feedback-thanks-up = 感谢你的反馈！🙌
feedback-thanks-down = 谢谢告诉我们。如果需要人工帮助，请点“转人工客服”。
feedback-expired = 这条回答太久了，无法再评价。
handoff-new = 我已把你的问题转给我们的客服团队（工单 #{ $ticket }）。客服人员会在这个对话里回复你——你不需要再做其他操作。
handoff-existing = 你的问题已经在我们的客服团队那里（工单 #{ $ticket }）；我已把这条消息补充进去。客服人员会在这里回复你。
# 在 handoff-new 前面（中间加一个空格），用于机器人把握不够、不作回答时。
low-confidence-prefix = 这个问题我不确定能答对，所以请人工客服来帮你。
error = 抱歉，我们这边出了点问题。请稍后再试。
button-helpful = 👍
button-not-helpful = 👎
button-human = 转人工客服
button-rating = { $score }⭐
wait-soon = 客服通常会在 { $minutes } 分钟左右回复。
# $when 是下面 wait-back-… 中的一条。
wait-offline = 我们的团队现在不在线，将于{ $when }（{ $tz }）回来。你的消息已保存，届时客服人员会在这里回复你。
wait-back-today = 今天 { $time }
wait-back-tomorrow = 明天 { $time }
# $day：星期几的名称
wait-back-on = { $day } { $time }
handoff-agent-joined = 👋 我们客服团队的 { $agent } 正在处理你的问题。
handoff-closed = 你与客服团队的对话已结束（工单 #{ $ticket }）——接下来由我继续回答你的问题。我们的服务怎么样？请点 1（很差）到 5（非常好）打分。
rating-thanks = 感谢你给我们打 { $score }/5 分！
rating-already = 这次对话已经评过分了——谢谢你！

## /language：顾客的回复语言

# 这种语言对自己的称呼，显示在 /language 的按钮上。
language-name = 简体中文
language-choose = 你希望我用哪种语言回复你？
# $language：所选语言的 language-name
language-set = 好的——从现在起我会用{ $language }回复你。
# $code：顾客输入的内容；$codes：可用的语言代码，例如 "en, zh"
language-unknown = 抱歉，我不认识语言代码“{ $code }”。可用的代码：{ $codes }——例如 /language zh，或者只发送 /language 从列表中选择。

## 任何对话：被拒绝的请求（UserFacingError）——回复命令或发送的文件

refused = ❌ { $problems }
# $problems：每行一条，最后一条可能是 refused-more
file-refused =
    ❌ { $name } 未被接受（{ $count } 个问题）；知识库没有变化：
    { $problems }
refused-more = …… 另有 { $count } 个
# 发送的文件没有名称时使用的名称。
file-unnamed = 上传的文件

## 终端对话（`supportbot chat`）

terminal-loading = 正在加载知识库和模型……
terminal-ready = { $product } 客服机器人已就绪，用时 { $seconds } 秒（{ $entries } 条常见问题）。输入你的问题；输入 /quit 退出。
# 输入者的提示符（后面跟一个空格）。
terminal-prompt = 你>
terminal-answer =
    机器人> { $text }
         { "[" }{ $entry }，置信度 { $confidence }]
# $reason：原因代码，例如 low_confidence
terminal-handoff = 机器人> 我把这个问题交给我们客服团队的人工客服（工单 #{ $ticket }，原因：{ $reason }）。
terminal-bye = 再见！
# 从终端对话创建的工单上的顾客名称（客服人员会看到）。
terminal-customer = 终端用户
terminal-from-agent = 客服> { $text }
terminal-agent-attachment = （客服发送了一个文件：终端无法显示）
terminal-console = 客服：控制台地址 { $url }（用户 { $user }，密码 { $password }）。机器人转交的问题会出现在那里；你的回复会显示在这里。
terminal-no-console = 客服控制台无法在端口 { $port } 上启动（端口被占用？）；请把 CONSOLE__PORT 设为其他端口，以便回答转交的问题。

# Sent once when a customer writes faster than the flood limit; later messages in that window get no answer.
flood-notice = 你发消息的速度太快了，我先暂停几秒钟。请把你的问题写在一条消息里发给我，我会回答你。

## Moderation: abusive language (bot/middlewares/moderation.py)

# The first abusive message in a window: a calm warning; the message is still answered.
moderation-warning = 我理解你现在很着急，我很想帮你解决问题。但请注意文明用语——如果再出现这样的话，我只能暂停我们的对话一段时间。
# Abusive again within the window: one notice; nothing the customer writes is answered or passed on until then.
# $minutes: the mute's length; $time: when it ends (HH:MM); $tz: the time zone of $time
moderation-muted = 由于对话中出现了不文明用语，我已将对话暂停 { $minutes } 分钟。你可以在 { $time }（{ $tz }）之后再发消息，届时我很乐意帮你。
# An agent lifted the mute early.
moderation-unmuted = 客服团队已恢复对话——你现在可以继续发消息了，我们会帮你处理。
## Unclear messages: the bot asks back before it opens a ticket

# Above up to three "Did you mean …?" buttons (the entries the bot thinks of).
clarify-did-you-mean = 我不太确定理解了你的意思。你是想问下面的哪一个吗？
# A greeting alone ("hi", "你好").
clarify-greeting = 你好！有什么可以帮你的？直接在这里提问就好。
# A thank-you or goodbye alone ("thanks", "ok bye", "谢谢").
clarify-thanks = 不客气！如果还有其他问题，随时问我。
# Nothing plausible to offer (emoji, symbols, random letters, code, a bare link, or a vague question).
clarify-rephrase = 抱歉，我没太明白。能用几句话说说你需要什么帮助吗？
# $question: an FAQ entry's question, shortened
button-did-you-mean = ❓ { $question }
button-none-of-these = 都不是 — 转人工客服
# A "Did you mean" button whose entry was removed from the FAQ since.
clarify-entry-gone = 抱歉，这个答案已不在我们的常见问题中。需要人工客服帮你吗？
# Buttons from a clarification that has expired.
clarify-expired = 这些建议已过期。请重新提问，或转人工客服。
# The terminal chat: $text is clarify-did-you-mean or clarify-rephrase; $suggestions one per line
terminal-clarify =
    bot> { $text }
    { $suggestions }
# $number: 1, 2, 3; $question: an FAQ entry's question
terminal-suggestion = {"     "}{ $number }) { $question }
## Customers' data: /mydata and /forget (bot/handlers/customer.py)

# $days: PRIVACY__RETENTION_DAYS
mydata-nothing = 我们没有保存任何关于你的信息：没有对话、工单、反馈或偏好设置。（只有你给我们发过消息的技术记录，不含消息内容，会在 { $days } 天内删除。）
mydata-caption = 我们保存的关于你的全部信息（JSON 文件）。
forget-confirm = 这将删除我们保存的关于你的全部信息：你与机器人的对话、你的工单（未关闭的工单会被关闭）、你的反馈、你选择的语言以及你提过的问题。此操作无法撤销。确定删除吗？
button-forget-confirm = 🗑 删除我的数据
button-forget-cancel = 取消
forget-cancelled = 已取消：没有删除任何内容。
forget-not-yours = 这些按钮属于别人的请求；没有做任何更改。发送 /forget 可以删除你自己的数据。
forget-stale = 这个请求已经处理过或已过期；没有做任何更改。如果你想删除数据，请再次发送 /forget。
forget-nothing = 除了你给我们发过消息的技术记录（不含消息内容）之外，我们没有保存关于你的任何信息；这些记录也已删除。
# $what: a list of privacy-kind texts
forget-done = 已完成。我们删除了{ $what }。
forget-done-ticket = 已完成。你未关闭的工单 #{ $ticket } 已关闭，我们删除了{ $what }。
# One kind of data that was deleted; $count: how many items
privacy-kind = { $kind ->
    [conversation] 你与机器人的对话
    [answers] { $count } 条回答及你的反馈
    [tickets] { $count } 个工单及其记录
    [language] 你选择的语言
    [unanswered_questions] { $count } 个为改进回答而保存的问题
    [kb_suggestions] { $count } 条根据你的工单生成的常见问题建议（已移除你的原话）
    [undelivered_messages] { $count } 条等待发送给你的消息
    [moderation] 你的管理状态（警告、禁言）
    [clarifications] 机器人追问过的 { $count } 个问题
    [questions] 为话题报告保存的 { $count } 个问题
    [related_questions] 你收到过的常见问题解答及向你推荐的问题
    [learning_candidates] { $count } 条等待被学习为常见问题问法的提问
    [kb_drafts] { $count } 份根据你的工单撰写的常见问题草稿
   *[other] { $kind }（{ $count }）
}

## Canned replies and files from the console

terminal-agent-file = （客服发送了一个文件：{ $name }）

## "People also ask": related questions under an answer

# A question other customers asked next, as a button under an answer
button-related = 大家还问：{ $question }
related-unavailable = 这个建议已不可用，未做任何更改。请直接输入你的问题。
related-gone = 抱歉，“{ $question }”已不在我们的常见问题中。请直接输入你的问题，或转人工客服。
related-gone-nearest = 抱歉，“{ $question }”已不在我们的常见问题中。这是最接近的问题：“{ $nearest }”。

## Learning from confirmed answers

feedback-not-yours = 这条回答是发给别人的，你的评价没有被计入。

## The terminal chat: picking suggestions by number, rating answers, asking for a person (bot/terminal.py)

terminal-commands = 输入建议前的编号即可选择；/good 或 /bad 评价上一条回答；/human 转人工客服。
terminal-bot = 机器人> { $text }
terminal-related = {"     "}大家还问（输入编号）：
terminal-pick-hint = {"     "}输入编号选择一项，或输入 /human 转人工客服。
terminal-no-such-choice = 机器人> 没有编号为 { $number } 的建议：请输入 1 到 { $count } 之间的编号，或直接输入你的问题。
terminal-no-choices = 机器人> 现在没有可选的编号建议（你输入了 { $number }）：请直接输入你的问题。
terminal-nothing-to-rate = 机器人> 还没有可以评价的回答：请先提问，然后输入 /good 或 /bad。
terminal-rated-good = 机器人> 感谢你的反馈！🙌
terminal-rated-bad = 机器人> 感谢告知。如需人工客服帮助，请输入 /human。
terminal-human-already = 机器人> 我们的客服人员已经在处理你的对话（工单 #{ $ticket }）：直接在这里输入，他们会看到。

## After a 👎: the other answers for the same question (bot/handlers/customer.py offer_alternatives)

dislike-alternatives = 抱歉没能帮到你。你是想问下面的哪一个吗？
dislike-no-alternatives = 抱歉没能帮到你。对于这个问题我没有其他答案了 — 需要人工客服帮助吗？
