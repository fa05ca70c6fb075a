# 评分程序给学习者的消息，简体中文版（grader/grader/src/l10n.rs）。
# 与 ../en/grader.ftl 一一对应：消息 id 相同，变量相同（有测试检查）。
# 用“你”；正文用中文标点；代码、命令、路径、检查 id 和 crate 名保持英文。

## The report (src/render.rs)

report-title = WebSocket Workbook — 评分：{ $submission }
report-column-unit = 单元
report-column-state = 状态
report-column-score = 得分
report-skipped = （跳过了 { $count } 项检查）
report-coming = 即将加入课程：{ $units }
report-total = 总分 { $score }/{ $max }
report-sandbox = 沙箱：{ $isolation }
report-not-graded-here = { $unit } — 在这台机器上未评分的检查
report-what-to-fix = { $unit } — 需要修复的地方
report-course-passes = 课程的每个单元都通过了（{ $graded }/{ $available }）。干得漂亮！
report-unit-passes = 单元 { $unit } 通过。（本次只评了单元 { $unit }。）
report-units-pass = 单元 { $units } 通过。（本次只评了这 { $count } 个单元。）

state-passed = 通过
state-not-started = 未开始
state-does-not-compile = 无法编译
state-failing = { $graded } 项中 { $failing } 项未通过

check-visible = 可见
check-hidden = 隐藏
check-heading = { $check }（{ $visibility }，{ $points } 分）{ $outcome }
check-outcome-failed = 未通过
check-outcome-timed-out = 超时
check-outcome-error = 没有给出结果就结束了
check-outcome-not-run = 没有运行
check-outcome-skipped = 被跳过
check-outcome-passed = 通过
check-skipped = { $check }（{ $visibility }，{ $points } 分）被跳过：不计分，它的分数不计入总分
check-reached-unwritten = 执行到了尚未编写的代码：{ $text }
check-hint = 提示：{ $hint }
check-read = 阅读：{ $chapter }

next-unit = 下一步：单元 { $unit } — { $title }
next-label-read = 阅读：
next-label-code = 代码：
next-label-test = 测试：
next-label-grade = 评分：
next-label-watch = 监视：
next-label-stuck = 求助：
next-read = { $chapter }   （或者运行 `cargo grade serve`，然后打开中文版 http://127.0.0.1:8000/zh-CN/{ $page }）
next-watch = cargo grade watch   （每次保存都会重新检查；h：提示，q：退出）
next-whole-course = 查看整个课程的进度：`cargo grade`（评你已经开始的每个单元）。

## Explanations (src/learner/explain.rs)

build-cargo-said = 这个单元无法构建。Cargo 的输出：
build-does-not-compile =
    { $count ->
        [1] 你的代码无法编译。错误如下：
       *[other] 你的代码无法编译（{ $count } 个错误）。先修第一个：后面的错误往往是它引起的。
    }
build-meaning = 一般来说，{ $meaning }。
build-more = 详见：`rustc --explain { $code }`。
build-other-errors = 其他错误：
build-and-more = ……还有 { $count } 个
build-manifest-note =
    评分程序只用课程的 Cargo.toml 构建你的 src/：你在练习的 Cargo.toml 里添加的依赖在这里用不了。
    `cd exercises/{ $slug } && cargo build` 会显示完整的错误。

meaning-e0308 = 某个值的类型不是这里需要的类型：对比 `expected` 和 `found` 两行
meaning-e0425 = 某个名字不在作用域中：拼写错误，或者少了 `use`
meaning-e0432 = 某个路径无法解析：少了 `use`，或者模块名、crate 名拼错了
meaning-e0599 = 这个类型没有这个方法：常见原因是没有导入 trait（`use futures_util::StreamExt;`、`SinkExt`），或者这个值的类型和你想的不一样
meaning-e0382 = 某个值被移动（move）之后又被使用：用 `&` 借用它、clone 它，或者只移动一次
meaning-e0499 = 两个借用冲突：让一个借用在另一个开始之前结束（缩小作用域，或者复制一份你需要的数据）
meaning-e0277 = 某个类型缺少代码需要的 trait：使用 `?` 时，错误类型没有实现到函数错误类型的 `From`
meaning-e0061 = 调用函数时参数个数不对
meaning-e0063 = 结构体字面量缺少字段，或者有未知的字段
meaning-e0369 = 对不支持某个运算符的类型使用了这个运算符
meaning-e0004 = `match` 没有覆盖所有情况：补上缺少的分支（或者 `_`）
meaning-e0384 = 一个变量被赋值了两次：用 `let mut` 声明它
meaning-e0596 = 可变借用了一个不是 `mut` 的东西：用 `let mut`，或者 `&mut self`
meaning-e0728 = 在 `async` 函数或块之外使用了 `.await`

missing-crates =
    { $count ->
       *[other] { $names } 不是这个单元的依赖。
    }评分程序用课程的 Cargo.toml 构建你的 src/，并忽略练习自己的
    Cargo.toml：你在那里添加的 crate（用 `cargo add`，或者修改
    exercises/{ $slug }/Cargo.toml）在这里都用不了，即使你自己的 `cargo test` 能通过。
    请改用课程的 Cargo.toml 里已有的依赖：
missing-crate-reexport = `{ $name }` → `{ $path }`（由 { $dependency } 重新导出）
missing-crate-reexport-note = `{ $name }` → `{ $path }`（由 { $dependency } 重新导出）：{ $note }
missing-crate-example = 例如 `{ $example }`
missing-crate-no-reexport = `{ $name }`：不在这个单元的依赖里；请用标准库或下面这些 crate 来写
missing-crates-undo =
    然后撤销你对 exercises/{ $slug }/Cargo.toml 的修改（`git diff exercises/{ $slug }/Cargo.toml`）。
    这个单元的依赖：{ $dependencies }。
reexport-note-futures = `StreamExt`、`SinkExt`、`stream`、`sink` 和 `future` 都在这里；通道请用 `tokio::sync`
reexport-note-bytes = `Bytes` 类型
reexport-note-serde-derive = 派生宏：`use serde::{"{"}Deserialize, Serialize{"}"};`
reexport-note-log = 同样的宏：`tracing::info!`、`tracing::warn!`

todo-place = `todo!()`
todo-place-at = { $at } 处的 `todo!()`
todo-place-in-function = `{ $function }` 中 { $at } 处的 `todo!()`
unwritten-reached = 它执行到了你还没写的代码：{ $place }。
unwritten-reached-text = 它执行到了你还没写的代码：{ $text }
unwritten-where = （{ $place }）。
unwritten-stopped = 检查停在了那里：它还没有测到这项检查真正关心的代码。先把那部分写出来，再重新评分。
unwritten-same-as = 它执行到了与上面的 `{ $check }` 相同的未完成代码。

failure-timeout = 这项检查到了时间限制，被停止了。通常是因为：一个永远不会结束的循环，或者 `.await` 了一个永远等不到的东西（没有超时的读取、没人发送的通道、跨 `.await` 持有的锁）。
failure-todo-at = 它执行到的 `todo!()` 位于 { $at }。
failure-panicked = 你的代码在 { $at } 处 panic 了：{ $message }
failure-unwrap = 一个 `unwrap()` 遇到了 `None` 或 `Err`：请处理这种情况（用 `match`、`?` 或者一个错误值），不要 unwrap。
failure-index = 索引越过了末尾：用 `.get(i)`，它返回一个 `Option`。
failure-overflow = 算术溢出：用 `checked_`/`saturating_` 系列运算，或者换一个更宽的类型。
failure-panic = 你的代码一旦 panic，这项检查就结束了：请改为返回一个错误。

## `cargo grade list` and the progress bar (src/learner/mod.rs, progress.rs)

list-coming = （即将推出）
list-serve-note = 运行 `cargo grade serve` 时，也可以在 http://127.0.0.1:8000/zh-CN/<slug>.html 阅读各章的中文版。
progress-not-graded = 尚未评分
progress-passed = 通过 { $score }/{ $max }
progress-checks-pass = { $checks } 项检查中 { $passed } 项通过
progress-bar = 课程 [{ $bar }] { $units } 个单元中已通过 { $passed } 个，{ $points }/{ $max } 分
progress-bar-coming = { $progress }（还有 { $coming } 个单元即将推出）
progress-not-saved = cargo grade：无法保存这次的结果：{ $error }

## `cargo grade hint` (src/learner/hint.rs)

hint-heading = 单元 { $unit }（{ $title }）的提示 { $index }/{ $total }
hint-heading-task = 单元 { $unit }（{ $title }）的提示 { $index }/{ $total } — { $task }
hint-last = 这是最后一条提示。本章的「提示」一节列出了全部提示（book/{ $chapter }#hints）；`cargo grade hint { $unit } --reset` 可以从头再看。
hint-more = 再运行一次 `cargo grade hint { $unit }` 会显示下一条，它会更具体。
hint-reset = 单元 { $unit } 的提示将从第一条重新开始：`cargo grade hint { $unit }`。

## `cargo grade reset` (src/learner/mod.rs, reset.rs)

reset-already-stub = exercises/{ $slug }/ 已经是单元 { $unit } 的桩代码，无需重置。
reset-refused = 没有重置单元 { $unit }：exercises/{ $slug }/ 里有你的修改：
reset-force = `cargo grade reset { $unit } --force` 会先把它们保存到 { $backups }/{ $slug }-<time>/，再恢复桩代码。
reset-saved = 已把你在单元 { $unit } 写的代码保存到 { $backup }/
reset-restored = 已恢复 exercises/{ $slug }/ 的桩代码（有 { $count } 个文件被修改、添加或删除）。
reset-get-back = 要取回某个文件：cp { $backup }/src/<file> exercises/{ $slug }/src/
reset-changed = { $path }（已修改）
reset-added = { $path }（新增）
reset-deleted = { $path }（已删除）

## `cargo grade watch` (src/learner/watch.rs)

watch-not-a-folder = { $dir } 不是文件夹；`cargo grade watch` 监视的是 exercises/ 的一份副本
watch-every-unit-passes = 所有单元都通过了。干得漂亮！
watch-checking = ── 单元 { $unit } { $title } ── 正在检查 { $dir } …
watch-could-not-check = 无法检查这个单元：{ $error }
watch-run-failed = 检查运行失败：{ $error }
watch-bye = 再见
watch-unit-passes = 单元 { $unit } 通过。{ $bar }
watch-now-watching = 现在监视单元 { $unit }：{ $title } — 阅读 book/{ $chapter }
watch-all-pass = 单元 { $unit } 通过，所有单元也都通过了。干得漂亮！
watch-waiting = 正在监视 { $dir } — 保存文件即可重新检查 · h：下一条提示 · r：重新运行 · q：退出
watch-watcher-stopped = 文件监视器停止了
watch-no-hint = 没有提示：{ $error }
watch-cannot-watch = 无法监视 { $dir } 的变化：{ $error }。不监视的话，请在每次修改后运行 `cargo grade NN`（在 Linux 上，通常是因为 fs.inotify.max_user_watches 太小）
watch-does-not-compile = 单元 { $unit } 无法编译
watch-visible-checks = 可见检查：{ $total } 项中 { $passed } 项通过  { $bar }
watch-visible-pass = 所有可见检查都通过了；接下来是隐藏检查（`cargo grade { $unit }`）：
watch-all-checks = 全部检查：{ $total } 项中 { $passed } 项通过，{ $score }/{ $max } 分  { $bar }
watch-every-failing = `cargo grade { $unit }` 会列出每一项未通过的检查。
watch-skipped = { $check } 被跳过（不计分）
watch-no-src = { $dir } 里没有 src/ 文件夹

## The command line (src/main.rs)

main-building = 正在构建 { $units } …
main-built = 已构建 { $unit }，正在运行它的检查 …
main-checked = { $unit }：第 { $done }/{ $total } 项检查
main-unknown-unit = 没有单元 { $unit }；`cargo grade list` 会列出所有单元

## `cargo grade serve`（src/main.rs）

serve-building = 正在把教材构建到 { $dest } …
serve-book = 教材：
serve-other-edition = English:
serve-testkit = testkit 服务器：
serve-stop = 按 Ctrl-C 停止
