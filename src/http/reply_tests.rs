use super::*;
use std::sync::Arc;

fn new_sink() -> (HttpSink, oneshot::Receiver<Reply>, SinkFlags) {
    let (reply, replied) = oneshot::channel();
    let flags = || SinkFlags { aborted: Arc::default(), ended: Arc::default() };
    let mine = flags();
    let shared = SinkFlags { aborted: mine.aborted.clone(), ended: mine.ended.clone() };
    (HttpSink::new(reply, shared), replied, mine)
}

fn head_of(
    reply: Result<Reply, oneshot::error::TryRecvError>,
) -> (http::response::Parts, Bytes, Option<mpsc::Receiver<Chunk>>) {
    match reply {
        Ok(Reply::Head { head, body, rest }) => (head, body, rest),
        other => panic!("expected a head, got {other:?}"),
    }
}

fn stdout(bytes: &'static [u8]) -> Output {
    Output::Stdout(Bytes::from_static(bytes))
}

#[test]
fn a_head_split_over_outputs_is_held_until_its_blank_line_and_the_rest_streams() {
    let (sink, mut replied, _) = new_sink();
    sink.send(stdout(b"Status: 201 Made\r\nX-A: 1\r\n")).unwrap();
    assert!(replied.try_recv().is_err(), "nothing before the blank line");
    sink.send(stdout(b"X-B: 2\r\n\r\nbody")).unwrap();
    let (head, body, rest) = head_of(replied.try_recv());
    assert_eq!(head.status, 201);
    assert_eq!(head.extensions.get::<hyper::ext::ReasonPhrase>().map(|r| r.as_bytes()), Some(&b"Made"[..]));
    assert_eq!((&head.headers["x-a"], &head.headers["x-b"]), (&"1".parse().unwrap(), &"2".parse().unwrap()));
    assert_eq!(&body[..], b"body");
    let mut rest = rest.expect("more may follow");
    sink.send(Output::Stdout(Bytes::new())).unwrap();
    assert!(matches!(sink.try_send(stdout(b"more")), Ok(TrySend::Sent)));
    sink.send(Output::Stderr(Bytes::from_static(b"boom"))).unwrap();
    sink.end();
    assert!(matches!(rest.try_recv(), Ok(Chunk::Data(d)) if d == "more"), "empty chunks are not sent");
    assert!(matches!(rest.try_recv(), Ok(Chunk::Failed(t)) if t == "boom"));
    assert!(matches!(rest.try_recv(), Err(mpsc::error::TryRecvError::Disconnected)), "the end closes the body");
    assert!(matches!(sink.send(stdout(b"late")), Err(SendError::Ended)));
}

#[test]
fn the_last_output_is_the_whole_response_its_header_values_shared_not_copied() {
    let (sink, mut replied, flags) = new_sink();
    let block = b"Status: 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nX-Latin: caf\xe9\r\n\r\nhi";
    let data = Bytes::from_static(block);
    sink.last_follows();
    assert!(matches!(sink.try_send(Output::Stdout(data.clone())), Ok(TrySend::Sent)));
    let (head, body, rest) = head_of(replied.try_recv());
    assert!(rest.is_none() && body == "hi");
    assert!(head.headers.get("transfer-encoding").is_none() && head.headers.get("connection").is_none());
    let latin = head.headers["x-latin"].as_bytes();
    assert_eq!(latin, b"caf\xe9", "latin-1 bytes reach the client as the app wrote them");
    assert!(data.as_ptr_range().contains(&latin.as_ptr()), "the value is a slice of the app's bytes");
    assert!(head.extensions.get::<hyper::ext::ReasonPhrase>().is_none(), "the canonical reason is hyper's own");
    assert!(!sink.is_aborted());
    sink.end();
    assert!(flags.ended.load(Ordering::Acquire), "the end reaches the request's body");
}

#[test]
fn an_unterminated_head_is_taken_whole_when_the_output_ends() {
    let (sink, mut replied, _) = new_sink();
    sink.send(stdout(b"Status: 500\r\n")).unwrap();
    sink.send(Output::Stderr(Bytes::from_static(b"logged, not sent"))).unwrap();
    assert!(replied.try_recv().is_err());
    sink.end();
    let (head, body, rest) = head_of(replied.try_recv());
    assert_eq!((head.status.as_u16(), body.len(), rest.is_none()), (500, 0, true));
}

#[test]
fn a_malformed_head_is_no_head_and_the_app_is_told_to_stop() {
    let (sink, mut replied, _) = new_sink();
    sink.send(stdout(b"no colon\r\n\r\n")).unwrap();
    assert!(matches!(replied.try_recv(), Ok(Reply::NoHead)));
    assert!(sink.is_aborted());
    assert!(matches!(sink.send(stdout(b"body")), Err(SendError::Disconnected)));
    let (empty, mut replied, _) = new_sink();
    empty.end();
    assert!(matches!(replied.try_recv(), Ok(Reply::NoHead)), "an app that sent nothing");
}

#[test]
fn a_client_gone_before_the_head_or_during_the_body_aborts_the_app() {
    let (sink, replied, _) = new_sink();
    drop(replied);
    assert!(sink.is_aborted());
    let (sink, mut replied, _) = new_sink();
    sink.send(stdout(b"Status: 200 OK\r\n\r\n")).unwrap();
    let (_, _, rest) = head_of(replied.try_recv());
    assert!(!sink.is_aborted());
    drop(rest);
    assert!(sink.is_aborted());
    assert!(matches!(sink.send(stdout(b"x")), Err(SendError::Disconnected)));
    let (sink, _replied, flags) = new_sink();
    flags.aborted.store(true, Ordering::Release);
    assert!(sink.is_aborted(), "the server's abort flag");
}

#[test]
fn a_full_body_channel_gives_the_output_back() {
    let (sink, mut replied, _) = new_sink();
    sink.send(stdout(b"Status: 200 OK\r\n\r\n")).unwrap();
    let (_, _, _rest) = head_of(replied.try_recv());
    for _ in 0..OUTPUT_CHANNEL_CHUNKS {
        assert!(matches!(sink.try_send(stdout(b"x")), Ok(TrySend::Sent)));
    }
    assert!(matches!(sink.try_send(stdout(b"y")), Ok(TrySend::WouldBlock(Output::Stdout(d))) if d == "y"));
}
